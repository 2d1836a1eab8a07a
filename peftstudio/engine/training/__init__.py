"""The training session: transformers' Trainer + peft, with events, checkpoints and controls."""
