"""UPT-Flow network (Xu et al., Pattern Recognition 158:111076, 2025): UPM, MSFormer encoder and flow."""

from uptflow.models.checkpoint import load_model, save_model
from uptflow.models.encoder import MSFormer, check_window_size, flow_conditions, infer_window_size
from uptflow.models.upm import unbalanced_point_map
from uptflow.models.uptflow import UPTFlow, build_uptflow

__all__ = ["MSFormer", "check_window_size", "flow_conditions", "infer_window_size", "unbalanced_point_map",
           "UPTFlow", "build_uptflow", "load_model", "save_model"]
