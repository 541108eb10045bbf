enum _PlaceholderAishaSystem {}
