"""Analyses on any checkpoint: what a trained network allocates to each subtask, and the
scaling laws and emergence that follow.

>>> import interp
"""
