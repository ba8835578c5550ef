"""Networks (plain torch, `nets/`) and the LightningModules that train them.

Evaluation, registration and serving load only the plain network (`export.load_net`), so they
never import Lightning.
"""
