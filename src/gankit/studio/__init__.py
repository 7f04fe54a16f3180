"""gankit studio: a local web page and JSON/PNG API to browse, steer and watch a generator. Inference only:
nothing here imports the trainer, the recipes, the losses or the regularizers."""
