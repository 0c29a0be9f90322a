import torch

# The suite runs many tiny models: one thread avoids oversubscribing small shared machines.
torch.set_num_threads(1)
