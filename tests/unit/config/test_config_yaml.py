"""The line-keeping YAML reader under every config loader."""

from tui.config.checker import node_value
from tui.config.errors import ConfigError, ConfigErrors
from tui.config.located_yaml import parse_yaml


def test_values_are_resolved_like_safe_load_and_keep_their_lines():
    parsed = parse_yaml("a: 1\nb:\n  - x\n  - 8.4\nc: {d: yes, e: null, '0': zero}\n", "f.yaml")
    assert parsed.errors == []
    assert node_value(parsed.root) == {"a": 1, "b": ["x", 8.4], "c": {"d": True, "e": None, "0": "zero"}}
    entries = parsed.root.value
    assert [entries[k].key_line for k in "abc"] == [1, 2, 5]
    assert [item.line for item in entries["b"].node.value] == [3, 4]
    assert entries["b"].node.value[1].raw == "8.4"


def test_duplicate_keys_are_errors_at_every_depth():
    parsed = parse_yaml("a: 1\nb:\n  x: 1\n  x: 2\na: 3\n", "f.yaml")
    assert [str(e) for e in parsed.errors] == [
        "f.yaml:4: b.x: duplicate key: already given on line 3",
        "f.yaml:5: a: duplicate key: already given on line 1",
    ]
    assert node_value(parsed.root) == {"a": 1, "b": {"x": 1}}  # the first value wins, nothing is lost silently


def test_merge_keys_complex_keys_and_self_aliases_are_reported():
    parsed = parse_yaml("base: &b {x: 1}\nitem:\n  <<: *b\n  ? [1, 2]\n  : v\nloop: &l [*l]\n", "f.yaml")
    assert [(e.line, e.key) for e in parsed.errors] == [(3, "item.<<"), (4, "item"), (6, "loop[0]")]


def test_syntax_errors_and_multiple_documents_give_a_line():
    assert [str(e) for e in parse_yaml("a: [1, 2\n", "f.yaml").errors] == [
        "f.yaml:2: YAML syntax error: expected ',' or ']', but got '<stream end>'"]
    assert [e.line for e in parse_yaml("a: 1\n---\nb: 2\n", "f.yaml").errors] == [2]


def test_impossible_values_do_not_raise():
    parsed = parse_yaml("when: 2026-13-45\n", "f.yaml")
    assert len(parsed.errors) == 1 and parsed.errors[0].line == 1 and parsed.errors[0].key == "when"


def test_error_formatting():
    assert str(ConfigError("h.yaml", 3, "hosts.a.port", "bad")) == "h.yaml:3: hosts.a.port: bad"
    assert str(ConfigError("h.yaml", 0, "", "cannot read")) == "h.yaml: cannot read"
    errors = ConfigErrors([ConfigError("h.yaml", 9, "b", "two"), ConfigError("h.yaml", 2, "a", "one")])
    assert str(errors) == "h.yaml:2: a: one\nh.yaml:9: b: two"


def test_control_characters_are_a_located_syntax_error():
    parsed = parse_yaml("a: 1\nb: x\x00y\n", "f.yaml")
    assert [str(e) for e in parsed.errors] == ["f.yaml:2: YAML syntax error: character U+0000 is not allowed"]


def test_deep_nesting_is_refused_without_a_recursion_error():
    shallow = parse_yaml("a: " + "[" * 70 + "]" * 70 + "\n", "f.yaml")
    assert len(shallow.errors) == 1 and "nested too deeply" in shallow.errors[0].message
    deep = parse_yaml("a: " + "[" * 5000 + "]" * 5000 + "\n", "f.yaml")
    assert [str(e) for e in deep.errors] == ["f.yaml: YAML nested too deeply (over 64 levels)"]
