"""MSFormer condition encoder of UPT-Flow (Xu et al., Pattern Recognition 2025) and its building blocks."""

from uptflow.models.encoder.msformer import MSFormer, check_window_size, flow_conditions, infer_window_size

__all__ = ["MSFormer", "check_window_size", "flow_conditions", "infer_window_size"]
