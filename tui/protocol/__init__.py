"""The client/server protocol: versioned, length-prefixed JSON frames with a handshake.

Import what you need from `tui.protocol.framing` and `tui.protocol.messages`.
"""
