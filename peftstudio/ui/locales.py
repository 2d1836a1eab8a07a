"""Every user-visible UI string, in one place."""
STRINGS = {
    "app.title": "PEFT Studio",
    "home.heading": "Fine-tune a language model on your own examples",
    "home.recent_runs": "Recent runs",
    "home.no_runs": "No runs yet. Train one with: peftstudio train --model MODEL --dataset FILE",
    "home.hardware": "This machine",
}
