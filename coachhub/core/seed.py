"""Demo data for ``manage.py seed_demo``: the people of two organizations, then every app's steps.

Apps add demo data without touching the command: put a ``seed.py`` in the app (it is
autodiscovered) and register a step::

    from coachhub.core.seed import seed_step

    @seed_step("feedback history", order=20)
    def feedback_history(demo):          # runs inside tenant_context(demo.organization)
        for agent in demo.agents: ...    # must be idempotent: seed_demo runs on every `make run`

``demo`` is a :class:`DemoOrg`: the organization, its teams by name, admin, supervisors, agents,
a deterministic ``random.Random`` and ``now``. Four weeks of realistic history arrive with the
feedback issue (interactions, surveys, responses), then QA, recognition and coaching steps.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from coachhub.tenancy.models import Membership, Organization, Role, Team


@dataclass
class DemoOrg:
    organization: Organization
    teams: dict[str, Team] = field(default_factory=dict)
    admin: Membership | None = None
    supervisors: list[Membership] = field(default_factory=list)
    agents: list[Membership] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    now: datetime = field(default_factory=timezone.now)
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class SeedStep:
    name: str
    order: int
    run: Callable[[DemoOrg], None]


SEED_STEPS: list[SeedStep] = []


def seed_step(name: str, order: int = 100):
    def register(fn):
        if not any(s.name == name for s in SEED_STEPS):
            SEED_STEPS.append(SeedStep(name=name, order=order, run=fn))
            SEED_STEPS.sort(key=lambda s: s.order)
        return fn

    return register


# --- the demo organizations --------------------------------------------------------------------

# (first, last, team, bio); e-mails are first@<slug>.example. Ana is the agent API.md's
# example request names.
DEMO_ORGS = [
    {
        "slug": "northwind",
        "name": "Northwind Support",
        "time_zone": "America/New_York",
        "language": "en",
        "employee_prefix": "NW-",
        "teams": ["Billing", "Technical Support", "Onboarding"],
        "admin": ("Olivia", "Bennett"),
        "supervisors": [
            ("Marcus", "Reed", ["Billing", "Onboarding"]),
            ("Priya", "Shah", ["Technical Support"]),
        ],
        "agents": [
            ("Ana", "Ruiz", "Billing", "Ten years untangling invoices. Ask me about refunds."),
            ("Ben", "Carter", "Billing", "Numbers person, dog person, your-problem-solved person."),
            (
                "Chloe",
                "Nguyen",
                "Technical Support",
                "I fix routers by day and bake sourdough by night.",
            ),
            (
                "David",
                "Kim",
                "Technical Support",
                "Patient troubleshooter. No question is too small.",
            ),
            (
                "Emma",
                "Walsh",
                "Technical Support",
                "Former network engineer who loves a tricky ticket.",
            ),
            ("Felix", "Moreno", "Onboarding", "Helping new customers feel at home since day one."),
            ("Grace", "Liu", "Onboarding", "Setup guides, walkthroughs and a lot of good cheer."),
            ("Hassan", "Ali", "Billing", "Making payment plans that actually work for you."),
        ],
    },
    {
        "slug": "tailspin",
        "name": "Tailspin Care",
        "time_zone": "Europe/Madrid",
        "language": "es",
        "employee_prefix": "TS-",
        "teams": ["Reservations", "Baggage"],
        "admin": ("Lucía", "Fernández"),
        "supervisors": [("Javier", "Ortega", ["Reservations"]), ("Marta", "Gil", ["Baggage"])],
        "agents": [
            ("Carmen", "López", "Reservations", "Changing flights so you don't have to worry."),
            ("Diego", "Sánchez", "Reservations", "Seat maps, upgrades and last-minute rebookings."),
            ("Elena", "Torres", "Reservations", "Hablo español, English and a bit of Italiano."),
            ("Pablo", "Romero", "Baggage", "Every lost suitcase has a way home. I find it."),
            ("Sara", "Navarro", "Baggage", "Tracking bags across 40 airports, calmly."),
            ("Tomás", "Vidal", "Reservations", "Former cabin crew; I know what travel feels like."),
            ("Irene", "Castro", "Baggage", "Claims, receipts and quick reimbursements."),
            ("Hugo", "Molina", "Reservations", "Family trips are my speciality."),
        ],
    },
]

# One person in both organizations, to show the organization switcher.
SHARED_USER = {
    "first": "Jordan",
    "last": "Blake",
    "email": "jordan@coachhub.example",
    "roles": {"northwind": (Role.ADMIN, []), "tailspin": (Role.SUPERVISOR, ["Baggage"])},
}

AVATAR_COLOURS = [
    "#066fd1",
    "#ae3ec9",
    "#d63939",
    "#f76707",
    "#2fb344",
    "#0ca678",
    "#4263eb",
    "#d6336c",
]


def ascii_slug(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def demo_email(first: str, slug: str) -> str:
    return f"{ascii_slug(first)}@{slug}.example"


def avatar_png(initials: str, colour: str, size: int = 256) -> bytes:
    """A round-cornered square with the person's initials: a stand-in portrait."""
    image = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=size * 0.42)
    draw.text((size / 2, size / 2), initials, fill="white", font=font, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def demo_password() -> str:
    return settings.DEMO_PASSWORD


def _person(
    org,
    *,
    first,
    last,
    email,
    role,
    team=None,
    teams_led=(),
    bio="",
    employee_id="",
    colour_index=0,
):
    """Create or refresh one demo person (idempotent: same e-mail → same user and membership)."""
    from coachhub.accounts import services
    from coachhub.tenancy.models import AgentProfile

    user = services.user_get_or_create(email=email, first_name=first, last_name=last)
    if not user.check_password(demo_password()):
        user.set_password(demo_password())
        user.first_name, user.last_name = first, last
        user.save()
    member = services.membership_create(
        organization=org,
        user=user,
        role=role,
        team=team,
        teams_led=teams_led,
        display_name=f"{first} {last[0]}.",
        bio=bio,
        employee_id=employee_id,
    )
    profile = AgentProfile.objects.get(organization=org, membership=member)
    if not profile.photo:
        png = avatar_png(
            f"{first[0]}{last[0]}".upper(), AVATAR_COLOURS[colour_index % len(AVATAR_COLOURS)]
        )
        profile.photo.save("avatar.png", ContentFile(png), save=True)
    member.__dict__["profile"] = profile
    return member


def seed_people(org: Organization, spec: dict, log=print) -> DemoOrg:
    """Teams, the admin, supervisors and agents of one demo organization (inside its context)."""
    from coachhub.accounts import services

    slug = spec["slug"]
    demo = DemoOrg(organization=org, rng=random.Random(slug), log=log)  # noqa: S311 - demo data
    for name in spec["teams"]:
        demo.teams[name] = Team.objects.filter(
            organization=org, name=name
        ).first() or services.team_create(organization=org, name=name)
    first, last = spec["admin"]
    demo.admin = _person(
        org, first=first, last=last, email=demo_email(first, slug), role=Role.ADMIN
    )
    for i, (first, last, led) in enumerate(spec["supervisors"]):
        demo.supervisors.append(
            _person(
                org,
                first=first,
                last=last,
                email=demo_email(first, slug),
                role=Role.SUPERVISOR,
                teams_led=[demo.teams[t] for t in led],
                colour_index=i + 3,
            )
        )
    for i, (first, last, team, bio) in enumerate(spec["agents"]):
        demo.agents.append(
            _person(
                org,
                first=first,
                last=last,
                email=demo_email(first, slug),
                role=Role.AGENT,
                team=demo.teams[team],
                bio=bio,
                employee_id=f"{spec['employee_prefix']}{101 + i}",
                colour_index=i,
            )
        )
    shared_role, shared_led = SHARED_USER["roles"][slug]
    shared = _person(
        org,
        first=SHARED_USER["first"],
        last=SHARED_USER["last"],
        email=SHARED_USER["email"],
        role=shared_role,
        teams_led=[demo.teams[t] for t in shared_led],
        colour_index=5,
    )
    if shared_role == Role.SUPERVISOR:
        demo.supervisors.append(shared)
    return demo
