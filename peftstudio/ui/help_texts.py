"""Plain-language explanations of every setting, shown as tooltips (one place, like locales)."""

SETTING_HELP = {
    "lora_r": "How big the adapter is. Higher learns more detail but uses more memory. 8-64 is typical.",
    "lora_alpha": "How strongly the adapter changes the model. Usually twice the rank.",
    "lora_dropout": "Randomly ignores a small part of the adapter while training so it does not memorise. "
                    "0.05 is typical; raise it if the model repeats your examples word for word.",
    "target_modules": "Which parts of the model get an adapter. 'All linear layers' learns the most.",
    "learning_rate": "How big each learning step is. Too high and training becomes unstable; too low and it "
                     "learns slowly. 1e-4 to 3e-4 is typical for LoRA.",
    "batch_size": "How many examples the computer processes at once. Limited by memory.",
    "gradient_accumulation": "How many batches are added up before the model is updated. Lets a small "
                             "machine learn as if it used bigger batches.",
    "epochs": "How many times the model reads your whole dataset. More passes learn more but can memorise.",
    "max_steps": "Stop after this many updates, whatever the epochs say. Leave at 0 to train by epochs.",
    "warmup_steps": "The first updates use a smaller learning rate, so training starts gently.",
    "optimizer": "The method that turns errors into weight changes. AdamW is the safe default.",
    "scheduler": "How the learning rate changes over the run: falling in a straight line, along a curve, or "
                 "staying constant.",
    "weight_decay": "A gentle pull that keeps the adapter's weights small, to avoid memorising.",
    "max_grad_norm": "Caps how big one update can be, which prevents sudden jumps in the loss.",
    "precision": "The number format used for training. 'Auto' picks the fastest safe one for your hardware.",
    "quantization": "Stores the model's frozen weights in 8 or 4 bits to save memory (needs an NVIDIA GPU).",
    "save_steps": "How often a checkpoint is saved. You can resume or roll back to any checkpoint.",
    "save_total": "How many checkpoints to keep on disk; older ones are deleted.",
    "eval_steps": "How often the model is tested on examples it never trains on.",
    "eval_strategy": "When to test the model: every few steps, after each pass, or never.",
    "validation_split": "The share of your examples held back to test the model honestly.",
    "max_seq_length": "The longest example, in tokens, the model reads. Longer ones are cut.",
    "packing": "Puts several short examples together so no time is wasted on padding. Examples never see "
               "each other.",
    "gradient_checkpointing": "Saves a lot of memory by recomputing some values; training gets about 30% slower.",
    "seed": "A number that makes the run repeatable: the same seed gives the same result.",
    "num_processes": "How many GPUs train at once. Each GPU takes its own batch, so more GPUs finish sooner; the "
                     "batch size is per GPU and the examples per update stay the same.",
    "distributed_strategy": "How several GPUs share the work. ddp: each GPU holds the whole model (fastest). "
                            "zero2: optimizer state is split. fsdp / zero3: the model itself is split too, for "
                            "models too large for one GPU (slower).",
    "system_prompt": "Standing instructions given to the model before every conversation.",
}
