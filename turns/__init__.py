"""What a turn of the dialogue asks and how a short answer reads against it (no Rasa here).

`questions` names every question the assistant asks (its kind and what yes and no mean);
`short_answers` reads 好的 / 不用了 / 没有了 and their spoken forms; `record` finds, in a
conversation's events, the one question the last turn asked.
"""
