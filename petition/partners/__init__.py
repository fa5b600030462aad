"""What partner sites use: the JSON API, the embed script and iframe, the badge."""
