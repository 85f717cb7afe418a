"""Every external program hascreen, its lab, its tests and its scripts call comes from a Debian package that
scripts/setup.sh installs (or that every Debian 12 system has: Priority required or Essential).

The programs are found by scanning the code, not listed by hand, so a newly added call is checked too:
- argv lists (a list or tuple literal whose first item is a string, or a module constant naming a binary)
  passed to subprocess/asyncio/lab/runner calls, assigned to `argv`/`cmd`/`command`-like names or returned
  by functions named so;
- shell scripts: the string after "-c" in such a list, the script of the lab's `in_node(holder, script)`,
  the command of a test's `lab.ssh(node, command)`, and the `(marker, command)` pairs of the health probes'
  `sh -c` scripts, split at ; && || | and newlines, skipping shell keywords, assignments and builtins;
  wrappers (setsid, nsenter … --, ip netns exec NS, timeout N, runuser -u U --) count and so does what
  they run;
- tool-name tuples (`NEEDED_TOOLS`, `for tool in (...)`) and `shutil.which(NAME)`;
- the shell scripts in scripts/ (their command words, the same way).

Each program is resolved with shutil.which (PATH plus the sbin directories) and `dpkg -S` to its package,
and the package must be listed in setup.sh's APT_PACKAGES, pulled in by one of them through Depends (what
--no-install-recommends installs), or be required/essential. scripts/fresh-install-check.sh is not scanned:
it runs on the machine that builds the fresh root, and installs debootstrap itself.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "scripts" / "setup.sh"
PYTHON_SOURCES = ("tui/**/*.py", "tests/**/*.py", "scripts/*.py", "bench/*.py")
SHELL_SCRIPTS = ("scripts/setup.sh", "scripts/demo.sh", "scripts/test.sh")
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])

EXEC_CALLS = {"run", "Popen", "call", "check_call", "check_output", "create_subprocess_exec", "node_argv",
              "run_quiet", "spawn"}
SHELL_CALLS = {"in_node": 1, "ssh": 1, "create_subprocess_shell": 0}  # call name -> index of the script
ARGV_NAMES = re.compile(r"(^|_)(argv|cmd|command|dump|fetch|restore|tmux)$", re.IGNORECASE)
TOOL_LIST_NAMES = re.compile(r"(^|_)tools$", re.IGNORECASE)
ARGV_FUNCTIONS = re.compile(r"argv|command|_ssh|script", re.IGNORECASE)
PROGRAM = re.compile(r"^(/[\w./+-]+|[A-Za-z_][\w.+-]*)$")
HOLE = "\x00"  # stands for an f-string's {value}: never a program name
SHELL_KEYWORDS = {"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "case", "esac", "!",
                  "{", "}", "exec", "time", "function", "in",
                  "break", "continue"}
SHELL_BUILTINS = {"cd", "exit", "export", "set", "unset", "trap", "wait", "read", "umask", "shift", "return",
                  ".", ":", "eval", "local", "source", "[", "[[", "command", "type", "ulimit"}
WRAPPERS = {"setsid", "nohup", "nice", "env", "sudo", "timeout", "nsenter", "unshare", "runuser", "flock"}


# ---- the scan -------------------------------------------------------------------------------------------

def _wrapped(words: list[str]) -> Iterator[str]:
    """The program of an argv, and what a wrapper in front of it runs."""
    while words:
        head = words[0]
        if not PROGRAM.match(head):
            return
        yield head
        name = Path(head).name
        if name == "ip" and words[1:3] == ["netns", "exec"]:
            words = words[4:]
        elif name in ("nsenter", "unshare", "runuser", "sudo", "flock") and "--" in words:
            words = words[words.index("--") + 1:]
        elif name in ("nsenter", "unshare", "runuser", "sudo", "flock"):
            return  # options only, or a program given as an option value: the rest is not a command
        elif name == "timeout":
            rest = [w for w in words[1:] if not w.startswith("-")]
            words = rest[1:]
        elif name in WRAPPERS:
            words = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        else:
            return


def shell_programs(script: str) -> Iterator[str]:
    """The command words of a POSIX shell script (best effort: enough for the scripts this code writes)."""
    for inner in re.findall(r"\$\(([^()]*)\)", script):  # command substitutions, scanned on their own
        yield from shell_programs(inner)
    script = re.sub(r"\$\([^()]*\)|`[^`]*`", HOLE, script)
    script = re.sub(r"\b\w+\+?=\([^)]*\)", " ", script)  # array assignments: NAME=( ... ), NAME+=( ... )
    script = re.sub(r"\d*(>>|>&|<&|>|<)\s*[^\s;&|()]+", " ", script)  # redirections and their targets
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        try:
            tokens = list(lexer)
        except ValueError:
            tokens = line.split()
        command: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set(";&|()"):
                yield from _command_programs(command)
                command = []
            else:
                command.append(token)


def _command_programs(words: list[str]) -> Iterator[str]:
    if words and words[0] in ("for", "case"):
        return  # `for x in LIST` / `case WORD in`: no command
    while words and (words[0] in SHELL_KEYWORDS or re.match(r"^\w+\+?=", words[0])):
        words = words[1:]
    if words and words[0] not in SHELL_BUILTINS:
        yield from _wrapped(words)


class _Scanner:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tree = ast.parse(path.read_text(), filename=str(path))
        self.constants = {
            target.id: node.value.value
            for node in self.tree.body if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        }
        self.found: dict[str, set[str]] = {}

    def _add(self, name: str, node: ast.AST, how: str = "") -> None:
        if PROGRAM.match(name):
            where = f"{self.path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}{how}"
            self.found.setdefault(name, set()).add(where)

    def _string(self, node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.constants[node.id]
        if isinstance(node, ast.JoinedStr):
            return "".join(self._string(v.value) or HOLE if isinstance(v, ast.FormattedValue)
                           else str(v.value) for v in node.values)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self._string(node.left), self._string(node.right)
            if left is None and right is None:
                return None
            return (left if left is not None else HOLE) + (right if right is not None else " " + HOLE)
        return None

    def _shell(self, node: ast.AST | None, at: ast.AST) -> None:
        script = self._string(node)
        if script:
            for program in shell_programs(script):
                self._add(program, at, " (sh)")

    def _argv(self, node: ast.AST, at: ast.AST) -> None:
        if not isinstance(node, (ast.List, ast.Tuple)) or not node.elts:
            return
        words = []
        for item in node.elts:
            text = self._string(item)
            words.append(HOLE if text is None else text)
        for program in _wrapped(words):
            self._add(program, at)
        shell = Path(words[0]).name in ("sh", "bash", "dash")
        for index, item in enumerate(node.elts[:-1]):
            if shell and isinstance(item, ast.Constant) and item.value == "-c":
                self._shell(node.elts[index + 1], at)

    def _tools(self, node: ast.AST, at: ast.AST) -> None:
        for item in getattr(node, "elts", ()):
            name = self._string(item)
            if name:
                self._add(name, at, " (tool list)")

    def scan(self) -> dict[str, set[str]]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in EXEC_CALLS:
                    for arg in node.args:
                        self._argv(arg, node)
                if name in SHELL_CALLS and len(node.args) > SHELL_CALLS[name]:
                    self._shell(node.args[SHELL_CALLS[name]], node)
                if name == "which" and node.args:
                    program = self._string(node.args[0])
                    if program:
                        self._add(program, node, " (which)")
                if name in ("_script", "append", "extend"):
                    # the health probes' (marker, shell command) pairs
                    for arg in node.args:
                        pairs = arg.elts if isinstance(arg, ast.List) else [arg]
                        for pair in pairs:
                            if isinstance(pair, ast.Tuple) and len(pair.elts) == 2 and \
                                    isinstance(pair.elts[0], ast.Constant):
                                self._shell(pair.elts[1], node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                if any(ARGV_NAMES.search(n) for n in names):
                    self._argv(node.value, node)
                if any(TOOL_LIST_NAMES.search(n) for n in names):
                    self._tools(node.value, node)
                if any(n == "parts" for n in names) and isinstance(node.value, ast.List):
                    for pair in node.value.elts:
                        if isinstance(pair, ast.Tuple) and len(pair.elts) == 2:
                            self._shell(pair.elts[1], node)
            elif isinstance(node, ast.For) and isinstance(node.target, ast.Name) and node.target.id == "tool":
                self._tools(node.iter, node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and ARGV_FUNCTIONS.search(node.name):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Return) and inner.value is not None:
                        self._argv(inner.value, inner)
        return self.found


def called_programs() -> dict[str, set[str]]:
    """program -> the places that call it."""
    found: dict[str, set[str]] = {}
    for pattern in PYTHON_SOURCES:
        for path in sorted(REPO.glob(pattern)):
            for program, places in _Scanner(path).scan().items():
                found.setdefault(program, set()).update(places)
    for relative in SHELL_SCRIPTS:
        text = re.sub(r"^APT_PACKAGES=\(.*?^\)", "", (REPO / relative).read_text(), flags=re.MULTILINE | re.DOTALL)
        functions = set(re.findall(r"^\s*(?:function\s+)?([\w-]+)\s*\(\)", text, re.MULTILINE))
        for number, line in enumerate(text.splitlines(), 1):
            for program in shell_programs(line):
                if not program.startswith((".venv/", "$")) and program not in functions:
                    found.setdefault(program, set()).add(f"{relative}:{number} (sh)")
    return found


# ---- the packages ---------------------------------------------------------------------------------------

def setup_packages(text: str | None = None) -> list[str]:
    """The APT_PACKAGES=( ... ) array of scripts/setup.sh."""
    text = SETUP.read_text() if text is None else text
    match = re.search(r"^APT_PACKAGES=\((.*?)^\)", text, re.MULTILINE | re.DOTALL)
    assert match, "scripts/setup.sh has no APT_PACKAGES=( ... ) array"
    body = "\n".join(line.split("#", 1)[0] for line in match.group(1).splitlines())
    return body.split()


def _dpkg(*args: str) -> str:
    done = subprocess.run(["dpkg-query", *args], capture_output=True, text=True, timeout=60)
    return done.stdout if done.returncode == 0 else ""


def base_packages() -> set[str]:
    """Installed packages that every Debian system has (Priority required, or Essential)."""
    rows = _dpkg("-W", "-f=${Package} ${Priority} ${Essential}\n").splitlines()
    return {row.split()[0] for row in rows if " required" in row or row.endswith(" yes")}


def installed_closure(packages: list[str]) -> set[str]:
    """The packages and everything they pull in through Depends/Pre-Depends, as installed here."""
    done = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--installed", "--no-recommends", "--no-suggests",
         "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *packages],
        capture_output=True, text=True, timeout=120)
    return {line.strip() for line in done.stdout.splitlines() if line and not line.startswith(" ")}


def owning_package(program: str) -> tuple[str | None, str]:
    """(package, path) of an external program, or (None, why)."""
    path = program if program.startswith("/") else shutil.which(program, path=SEARCH_PATH)
    if path is None or not os.path.exists(path):
        return None, "not found on PATH or in /usr/sbin, /sbin"
    candidates = {path, os.path.realpath(path)}
    for candidate in list(candidates):  # merged /usr: dpkg may know either spelling
        if candidate.startswith("/usr/"):
            candidates.add(candidate[4:])
        elif candidate.startswith(("/bin/", "/sbin/", "/lib/")):
            candidates.add("/usr" + candidate)
    for candidate in sorted(candidates):
        out = _dpkg("-S", candidate)
        for line in out.splitlines():
            package, _, owned = line.partition(": ")
            if owned.strip() == candidate and "diversion" not in package:
                return package.split(":")[0].split(",")[0].strip(), candidate
    return None, f"{path}: no Debian package owns it (dpkg -S)"


# programs the lab copies onto its nodes from this repository: no package, but their source must be here
LAB_SHIPPED = {"/usr/local/sbin/textfile-feeder": REPO / "tui" / "lab" / "textfile_feeder.py"}


def uncovered(programs: dict[str, set[str]], listed: list[str]) -> list[str]:
    """One line per program whose package setup.sh does not bring in."""
    allowed = installed_closure(listed) | base_packages() | set(listed)
    problems = []
    for program, places in sorted(programs.items()):
        if Path(program).name == "hascreen":
            continue  # ours: setup.sh installs it into .venv and links it on PATH
        if program in LAB_SHIPPED:
            if not LAB_SHIPPED[program].is_file():
                problems.append(f"{program}: the lab ships it from {LAB_SHIPPED[program]}, which is missing")
            continue
        package, detail = owning_package(program)
        where = ", ".join(sorted(places)[:3])
        if package is None:
            problems.append(f"{program}: {detail} (called at {where})")
        elif package not in allowed:
            problems.append(f"{program}: package {package} ({detail}) is not in setup.sh's APT_PACKAGES "
                            f"(called at {where})")
    return problems


pytestmark = pytest.mark.skipif(shutil.which("dpkg-query") is None or shutil.which("apt-cache") is None,
                                reason="needs a Debian system (dpkg-query, apt-cache)")


def test_the_scan_finds_the_programs_of_every_kind_of_call():
    programs = called_programs()
    # one of each way a program is called: argv list, wrapper, in_node script, probe (marker, command)
    # pair, tool tuple, shell script in scripts/, test-only helper
    for expected in ("ssh-keygen", "nft", "/usr/sbin/sshd", "keepalived", "/usr/libexec/heartbeat/heartbeat",
                     "crm_mon", "crm_resource", "cl_status", "pidof", "tail", "arping", "mysqldump",
                     "mariadb-install-db", "unshare", "setsid", "tmux", "setfacl", "chpasswd", "dpkg-query"):
        assert expected in programs, f"the scan missed {expected}"
    assert not {"for", "exit", "umask", "n", "f"} & set(programs), "shell words taken for programs"


def test_every_called_program_comes_from_a_package_setup_sh_installs():
    problems = uncovered(called_programs(), setup_packages())
    assert not problems, "programs not covered by scripts/setup.sh:\n" + "\n".join(problems)


def test_a_package_missing_from_setup_sh_is_reported():
    listed = [p for p in setup_packages() if p != "pacemaker-cli-utils"]
    problems = uncovered({"crm_mon": {"here"}}, listed)
    assert len(problems) == 1
    assert "package pacemaker-cli-utils" in problems[0] or "not found" in problems[0]


def test_shell_scripts_split_into_their_programs():
    script = ("for f in a b; do [ -r $f ] && cat $f; done; X=1 setsid -f /usr/sbin/keepalived -n "
              ">>/log 2>&1 </dev/null; ip netns exec lab-sw nft list ruleset | grep -q x && "
              "echo \"$(cl_status listnodes)\"; umask 077 && timeout 5 mysqldump db")
    assert list(shell_programs(script)) == ["cl_status", "cat", "setsid", "/usr/sbin/keepalived", "ip", "nft",
                                            "grep", "echo", "timeout", "mysqldump"]
