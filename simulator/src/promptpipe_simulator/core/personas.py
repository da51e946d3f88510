"""Fake participants: a name, a unique phone number, a timezone and a short background."""

from __future__ import annotations

import random
from dataclasses import dataclass

from faker import Faker

TIMEZONES = [
    "America/Toronto",
    "America/New_York",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
]
ROUTINES = [
    "works night shifts at a hospital",
    "is a student with early lectures",
    "looks after two small children",
    "commutes an hour each way",
    "works from home",
    "is training for a first 5k",
    "recently retired",
    "runs a small bakery",
]


@dataclass
class Persona:
    name: str
    phone_number: str
    timezone: str
    gender: str
    background: str

    def enrollment(self) -> dict[str, str]:
        return {
            "phone_number": self.phone_number,
            "name": self.name,
            "timezone": self.timezone,
            "gender": self.gender,
            "background": self.background,
        }


class PersonaFactory:
    """Makes personas whose phone numbers never repeat within one factory."""

    def __init__(self, seed: int | None = None, taken: set[str] | None = None) -> None:
        self.faker = Faker()
        self.random = random.Random(seed)
        if seed is not None:
            self.faker.seed_instance(seed)
        self.taken = set(taken or ())

    def make(self) -> Persona:
        gender = self.random.choice(["female", "male", "nonbinary"])
        if gender == "female":
            name = self.faker.name_female()
        elif gender == "male":
            name = self.faker.name_male()
        else:
            name = self.faker.name_nonbinary()
        # +1 555 01xx-xxxx style numbers are reserved for fiction; stay in the 1555 range.
        while True:
            phone = "1555" + "".join(str(self.random.randint(0, 9)) for _ in range(7))
            if phone not in self.taken:
                self.taken.add(phone)
                break
        first = name.split()[0]
        background = f"{first} {self.random.choice(ROUTINES)}."
        return Persona(name, phone, self.random.choice(TIMEZONES), gender, background)
