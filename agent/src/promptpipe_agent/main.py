"""Composes the agent's FastAPI app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from promptpipe_service import logs
from promptpipe_service.body_limit import BodyLimit

from promptpipe_agent import __version__, auth, db
from promptpipe_agent.conversations import Conversations
from promptpipe_agent.delivery import DeliveryScheduler
from promptpipe_agent.errors import install_error_handlers, too_large
from promptpipe_agent.events import Timing
from promptpipe_agent.graph import GraphCoach
from promptpipe_agent.llm import make_chat_model
from promptpipe_agent.routers import conversations, health, messages, metrics, world
from promptpipe_agent.settings import Settings

log = logging.getLogger("promptpipe_agent")


def create_app(
    settings: Settings | None = None, delivery_transport: httpx.AsyncBaseTransport | None = None
) -> FastAPI:
    """The app; `delivery_transport` lets tests stand in for delivery's API."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure("agent", settings.log_level)
        log.info("starting", extra={"config": settings.masked()})
        await asyncio.to_thread(db.migrate, settings.database_url, settings.db_schema)
        pool = db.make_pool(settings.database_url, settings.db_schema)
        await pool.open(wait=False)
        scheduler = DeliveryScheduler(
            settings.delivery_url,
            settings.delivery_api_token.get_secret_value(),
            transport=delivery_transport,
        )
        model, model_name = make_chat_model(settings)
        coach = GraphCoach(
            model,
            model_name,
            scheduler,
            prep_minutes=settings.prep_time_minutes,
            max_rounds=settings.max_tool_rounds,
            default_tone=settings.default_tone_tags(),
            timing=Timing(
                reminder_seconds=settings.reminder_delay_minutes * 60,
                auto_feedback_seconds=settings.auto_feedback_delay_minutes * 60,
                feedback_initial_seconds=settings.feedback_initial_timeout_minutes * 60,
                feedback_followup_seconds=settings.feedback_followup_delay_minutes * 60,
                intensity_from_prompt=settings.intensity_from_prompt,
            ),
        )
        app.state.pool = pool
        app.state.conversations = Conversations(pool, coach)
        try:
            yield
        finally:
            await scheduler.close()
            await pool.close()

    app = FastAPI(title="PromptPipe agent", version=__version__, lifespan=lifespan)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        refuse=too_large,
        # A saved world is megabytes; a turn is not.
        larger=lambda scope: world.MAX_WORLD_BYTES if scope["path"] == "/dev/world" else None,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(messages.router, dependencies=auth.REQUIRED, responses=auth.UNAUTHORIZED)
    app.include_router(
        conversations.router, dependencies=auth.REQUIRED, responses=auth.UNAUTHORIZED
    )
    app.include_router(health.router)
    app.include_router(metrics.router)
    if settings.dev_clock:
        app.include_router(world.router, dependencies=auth.REQUIRED, responses=auth.UNAUTHORIZED)
    return app


def __getattr__(name: str) -> FastAPI:
    # `promptpipe_agent.main:app` for uvicorn, built on first use so importing this module
    # (in tests, for create_app) reads no environment.
    if name == "app":
        return create_app()
    raise AttributeError(name)
