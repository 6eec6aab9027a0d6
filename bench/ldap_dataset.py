"""The LDAP benchmark's directory: the same users, groups and memberships on every server.

Every user is in two groups (one by `i % groups`, one by `i // (users // groups)`), so each
of the 100 groups has ~200 members and a search by member finds one or two groups. All users
share one password: Keyhall stores argon2id hashes, and 10,000 distinct ones would cost ~5
minutes of CPU to create; a bind's cost does not depend on which password it checks.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_DN = "dc=keyhall"
PASSWORD = "bench-Passw0rd-for-ldap"
SERVICE_DN = f"cn=admin,ou=system,{BASE_DN}"


@dataclass(frozen=True, slots=True)
class BenchUser:
    index: int

    @property
    def username(self) -> str:
        return f"user{self.index:05d}"

    @property
    def email(self) -> str:
        return f"{self.username}@example.com"

    @property
    def given_name(self) -> str:
        return "Bench"

    @property
    def family_name(self) -> str:
        return f"User {self.index:05d}"

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True, slots=True)
class Dataset:
    user_count: int = 10_000
    group_count: int = 100

    def users(self) -> list[BenchUser]:
        return [BenchUser(i) for i in range(self.user_count)]

    def group_name(self, index: int) -> str:
        return f"group{index:03d}"

    def groups_of(self, user: BenchUser) -> set[int]:
        per_group = max(1, self.user_count // self.group_count)
        return {user.index % self.group_count, (user.index // per_group) % self.group_count}

    def members(self) -> dict[int, list[BenchUser]]:
        """Group index -> its members, in user order."""
        out: dict[int, list[BenchUser]] = {g: [] for g in range(self.group_count)}
        for user in self.users():
            for g in sorted(self.groups_of(user)):
                out[g].append(user)
        return out
