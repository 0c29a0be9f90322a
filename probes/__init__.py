"""Reading a network's insides: named activation sites, streaming statistics, probes."""
