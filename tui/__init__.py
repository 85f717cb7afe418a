"""hascreen: GNU Screen reborn as an ops console for classic Linux HA clusters.

The package is layered (see docs/interfaces.md and ../shared/ARCHITECTURE.md); `tui.cli` is the composition
root that wires the server, the client and the lab together.
"""

__version__ = "0.1.0"
