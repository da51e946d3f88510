"""Composes mock_whatsapp's FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from promptpipe_service import logs
from promptpipe_service.body_limit import BodyLimit

from mock_whatsapp import __version__, events, metrics, schemas
from mock_whatsapp.body_caps import larger_body_cap
from mock_whatsapp.business import Business
from mock_whatsapp.faults import FaultBook
from mock_whatsapp.graph_errors import install_error_handlers, too_large
from mock_whatsapp.hot_routes import HotRoutes
from mock_whatsapp.journal import open_journal
from mock_whatsapp.routers import (
    control,
    faults,
    graph,
    inspector,
    phones,
    stream,
    system_errors,
    templates,
    world,
)
from mock_whatsapp.routers import metrics as routers_metrics
from mock_whatsapp.scheduler import Scheduler
from mock_whatsapp.settings import Settings
from mock_whatsapp.template_registry import TemplateRegistry
from mock_whatsapp.template_review import TemplateReview
from mock_whatsapp.webhook_client import ClientFactory
from mock_whatsapp.webhooks import WebhookSender
from mock_whatsapp.world import WorldKeeper

log = logging.getLogger("mock_whatsapp")


def create_app(
    settings: Settings | None = None, webhook_client: ClientFactory | None = None
) -> FastAPI:
    """The app; `webhook_client` lets tests receive webhooks without a server."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        logs.configure("mock_whatsapp", settings.log_level)
        log.info("starting", extra={"config": settings.masked()})
        journal = events.observe(open_journal(settings.database_url), app.state.bus)
        fault_book = FaultBook(on_change=app.state.bus.publish)
        scheduler = Scheduler()
        webhooks = WebhookSender(
            settings.webhook_url,
            settings.app_secret.get_secret_value(),
            settings.webhook_retry_for_seconds,
            settings.webhook_timeout_seconds,
            max_backoff=settings.webhook_max_backoff_seconds,
            clients=webhook_client,
            journal=journal,
            faults=fault_book,
            scheduler=scheduler,
            concurrency=settings.webhook_concurrency,
        )
        template_registry = TemplateRegistry.configured(
            settings.templates_file or None,
            [n.waba_id for n in settings.business_numbers().values()],
            journal,
        )
        template_registry.on_change = lambda kind, t: app.state.bus.publish(kind, t.summary())
        app.state.business = Business(
            settings,
            webhooks,
            journal,
            fault_book,
            publish=app.state.bus.publish,
            templates=template_registry,
        )
        app.state.bus.now = app.state.business.clock.now
        scheduler.start()
        app.state.world = WorldKeeper(app.state.business)
        review = TemplateReview(
            template_registry,
            app.state.business.clock,
            webhooks,
            settings.template_review_seconds,
            settings.template_auto_approve,
        )
        app.state.template_review = review
        try:
            await app.state.business.restore()
            review.start()  # after the restore: templates left pending are reviewed as due
            yield
        finally:
            await review.close()
            await app.state.business.close()
            await scheduler.close()
            await webhooks.close()
            await journal.close()

    app = FastAPI(title="mock_whatsapp", version=__version__, lifespan=lifespan)
    # The last added is the outermost: bodies are capped before the hot routes read them.
    app.add_middleware(HotRoutes)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, refuse=too_large, larger=larger_body_cap
    )
    app.state.bus = events.EventBus()
    metrics.observe(app.state.bus)  # before any part takes its publish
    install_error_handlers(app)
    app.include_router(phones.router)
    app.include_router(control.router)
    app.include_router(faults.router)
    app.include_router(system_errors.router)
    app.include_router(stream.router)
    app.include_router(inspector.router)
    app.include_router(world.router)
    app.include_router(routers_metrics.router)
    app.include_router(templates.router)  # before graph's catch-all for other Graph paths
    app.include_router(graph.router)
    app.openapi = lambda: schemas.openapi_document(app)  # type: ignore[method-assign]
    return app


def __getattr__(name: str) -> FastAPI:
    # `mock_whatsapp.main:app` for uvicorn, built on first use.
    if name == "app":
        return create_app()
    raise AttributeError(name)
