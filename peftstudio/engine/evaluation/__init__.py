"""Evaluation: the task metric on held-back examples, the forgetting check, an optional judge; the scorecard."""
from peftstudio.engine.lazy_names import lazy

__all__, __getattr__ = lazy(__name__, {
    "scorecard": ["evaluate_run", "save_scorecard", "headline", "summary_metrics"],
    "metrics": ["METRICS", "metrics_for", "json_value", "schema_problem"],
    "judge": ["judge_from", "judge_pairs", "wilson"],
    "batched": ["generate_answers"],
    "held_back_rewards": ["held_back_rewards", "reward_summary"],
    "general_skills": ["load_items"],
})
