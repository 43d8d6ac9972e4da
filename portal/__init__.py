"""The web portal (FastAPI): units report through their magic link; the secretariat follows and reviews on its dashboard."""
