"""The versions hicachectl has flag tables for (constants only: light to import)."""

# Oldest first. A version between two tables uses the nearest lower one.
SGLANG_VERSIONS: tuple[str, ...] = ("0.5.21", "0.5.23")
DYNAMO_VERSION = "1.6.1"
DYNAMO_SGLANG_PIN = "0.5.21"  # the SGLang that Dynamo 1.6.1 pins
