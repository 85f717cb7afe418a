"""hascreen's configuration: hosts.yaml, keymaps/*.yaml and the user's config.yaml, loaded into typed,
validated objects. Every error names file, line and key, and all errors of a file are reported at once.

May import only yaml and the standard library (import-linter); callers pass in what it must know from
other layers, such as the registry of command names for keymaps.
"""

from tui.config.errors import ConfigError, ConfigErrors
from tui.config.hosts import (
    Cluster,
    Defaults,
    DrbdSettings,
    HeartbeatSettings,
    Host,
    HostsConfig,
    KeepalivedSettings,
    Layout,
    MysqlSettings,
    PacemakerSettings,
    ProviderIpSettings,
    VipSettings,
    load_hosts,
    summarize,
)
from tui.config.keymap import Binding, Keymap, KeyMatch, load_keymap, resolve_keymap
from tui.config.keys import Key, KeyNameError, describe_bytes, key_to_bytes, parse_key
from tui.config.paths import (
    available_keymaps,
    find_hosts_file,
    keymap_search_dirs,
    user_config_file,
    user_keymap_file,
)
from tui.config.user_config import HealthSettings, LockSettings, UserConfig, load_user_config

__all__ = [
    "Binding",
    "Cluster",
    "ConfigError",
    "ConfigErrors",
    "Defaults",
    "DrbdSettings",
    "HealthSettings",
    "HeartbeatSettings",
    "Host",
    "HostsConfig",
    "KeepalivedSettings",
    "Key",
    "KeyMatch",
    "KeyNameError",
    "Keymap",
    "Layout",
    "LockSettings",
    "MysqlSettings",
    "PacemakerSettings",
    "ProviderIpSettings",
    "UserConfig",
    "VipSettings",
    "available_keymaps",
    "describe_bytes",
    "find_hosts_file",
    "key_to_bytes",
    "keymap_search_dirs",
    "load_hosts",
    "load_keymap",
    "load_user_config",
    "parse_key",
    "resolve_keymap",
    "summarize",
    "user_config_file",
    "user_keymap_file",
]
