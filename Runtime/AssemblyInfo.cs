// The DeepSeek-V3.2 runtime: checkpoints, config, devices and the model.
