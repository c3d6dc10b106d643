"""A synthetic PTB-XL: physiologically grounded 12-lead ECGs written in PTB-XL's exact layout.

The toolkit's embedded default dataset, so every figure of the pipeline can be produced
offline.  ``generate.write_dataset`` is the entry point (CLI: ``train synth``).
"""
