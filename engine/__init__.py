"""The engine floor: how the pipeline's work runs at scale (Ray), below the stages that use it."""
