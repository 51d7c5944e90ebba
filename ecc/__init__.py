"""ecc package."""
