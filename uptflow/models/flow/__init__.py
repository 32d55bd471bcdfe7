"""Invertible layers of UPT-Flow; every class is registered in ``uptflow.registry.FLOWS``."""

from uptflow.models.flow.actnorm import ActNorm, data_dependent_init
from uptflow.models.flow.base import FlowSequential, InvertibleModule
from uptflow.models.flow.coupling import CrossCouplingAffine
from uptflow.models.flow.flow_net import FlowLevel, FlowStep, UPTFlowNet
from uptflow.models.flow.inv_conv import InvConv1x1
from uptflow.models.flow.squeeze import Squeeze

__all__ = [
    "InvertibleModule", "FlowSequential", "Squeeze", "ActNorm", "data_dependent_init", "InvConv1x1",
    "CrossCouplingAffine", "FlowStep", "FlowLevel", "UPTFlowNet",
]
