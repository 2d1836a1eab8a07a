"""Datasets: reading files, understanding their schema, and preparing them for training."""
