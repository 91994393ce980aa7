"""The learning core: preprocessing presets, feature extractors, training, calibrated
look-alike percentages, model versions on disk and pictures of a model. No Flask, no SQL.
"""
