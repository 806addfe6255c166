"""Identity primitives shared by channels and the store, with no Rasa and no database.

`conversation` names conversations per channel so no channel can name another's;
`assertion` is the signed statement a channel makes about who is on the line.
"""
