"""Gradeline's experiment side: synthetic kiosk photos, training, export and references."""
