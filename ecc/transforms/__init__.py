"""Analysis/synthesis transforms shared by every codec."""
