"""The hascreen daemon: sessions, panes, emulators, clients (tui.server.daemon), its extension points
(tui.server.hooks) and the integrations the composition root installs (tui.server.composition)."""
