"""What every channel shares: the adapter interface and registry, the retry policy, text
splitting for UTF-16-counting limits, choice postbacks and channel language tags. A channel
imports from here, never from a sibling channel."""
