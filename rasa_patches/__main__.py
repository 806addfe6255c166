"""`python -m rasa_patches <rasa arguments>`: Rasa's CLI with the patches (see startup.py)."""

from rasa_patches.startup import main

if __name__ == "__main__":
    main()
