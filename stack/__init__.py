"""Starting the assistant: the action server and Rasa, as `make run`, the end-to-end tests and
the bench all start them (launch.py), and a client of the running assistant (bot.py)."""
