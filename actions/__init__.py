"""The action server of 退订助手: one module per concern, the store package behind them."""
