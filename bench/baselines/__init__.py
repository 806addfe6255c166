"""Systems the shipped NLU is compared with: stock Rasa, keyword rules, ablations."""
