"""The hascreen daemon: sessions, panes, emulators, clients; see tui.server.daemon."""
