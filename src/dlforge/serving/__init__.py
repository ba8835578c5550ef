"""The served model: preprocessing + network + task output, behind MLflow's pyfunc interface."""
