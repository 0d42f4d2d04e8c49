"""The FastAPI application factory: builds the AppContext and mounts every part."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from sqlalchemy import text

from bots.common.adapter import ChannelAdapter, load_channels
from bots.webchat.api import SECURITY_HEADERS
from bots.webchat.secure import router as secure_router
from bots.webchat.survey import survey_router
from bots.webchat.upload import router as upload_router
from casecore.db import make_engine, make_sessionmaker
from casecore.migrate import upgrade_async  # (imports Alembic only when a migration is due)
from dialogs.profile import ProfileRegistry
from handoff import api as handoff_api
from handoff.actions import purge, retention
from handoff.actions.media import MediaLimits
from handoff.api.conversations import log_screen_status
from handoff.api.reports import reports_router
from handoff.delivery import SenderRegistry
from handoff.hub import Hub
from handoff.locks import ConversationLocks
from handoff.queue import InProcessQueue, RedisStreamQueue
from handoff.router import Router
from handoff.secure_links import SecureLinks
from handoff.waiting import start_waiting_monitor
from madoguchi import logging as mlogging
from madoguchi.context import AppContext
from madoguchi.fixed_routes import FixedRoutesMiddleware, fixed_endpoints
from madoguchi.landing import landing_router
from madoguchi.priority import AckFirstMiddleware
from madoguchi.security import install as install_hardening
from madoguchi.security.headers import PageHeadersMiddleware
from madoguchi.settings import Settings

log = structlog.get_logger(__name__)


def _inbox(settings: Settings, redis: Redis | None, *, consume: bool | None) -> InProcessQueue | RedisStreamQueue:
    """Redis Streams when configured (consumed here unless `inbox_in_web` is off or `consume`
    says otherwise), else the in-process inbox with its journal in the data dir."""
    if redis is not None:
        return RedisStreamQueue(redis, consume=settings.inbox_in_web if consume is None else consume,
                                max_pending=settings.inbox_max_pending)
    return InProcessQueue(max_pending=settings.inbox_max_pending, consumers=settings.inbox_consumers,
                          journal=settings.data_dir / "inbox.journal")


async def build_context(settings: Settings, *, consume: bool | None = None) -> AppContext:
    settings.configure_crypto()  # the global key and the per-resident key ring
    if settings.migrate_on_start:
        await upgrade_async(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    sessions = make_sessionmaker(engine)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    profiles = ProfileRegistry.load(settings.profile, settings.profiles_dir)
    hub = Hub(redis)
    queue = _inbox(settings, redis, consume=consume)
    senders = SenderRegistry()
    router = Router(
        sessions, profiles, senders, hub, queue, ConversationLocks(redis),
        max_chars=settings.max_message_chars, resume_after=timedelta(minutes=settings.resume_after_minutes),
    )
    # issue 16: the inbound step issues the secure-details links (handoff/actions/secure.py)
    router.secure_links = SecureLinks(settings.resolved_secret_key(), settings.public_base_url)  # type: ignore[attr-defined]
    router.media_limits = MediaLimits(settings.media_max_file_bytes, settings.media_max_conversation_bytes)  # type: ignore[attr-defined]
    ctx = AppContext(settings=settings, engine=engine, sessions=sessions, profiles=profiles,
                     senders=senders, router=router, hub=hub, redis=redis)
    _attach_translation(ctx)
    return ctx


def _attach_translation(ctx: AppContext) -> None:
    """Offline translation and language detection, when their runtime is installed. Without
    it the service still runs: messages are delivered untranslated and marked (degrade,
    never drop)."""
    from i18n.detect import detect_language

    ctx.router.detector = detect_language
    if not ctx.settings.translation_enabled:
        return
    try:
        from i18n.translation.packages import models_dir_for
        from i18n.translation.translator import build_translator
    except ImportError as exc:
        log.warning("translation_unavailable", missing=exc.name)
        return
    translator = build_translator(
        models_dir_for(ctx.settings), redis=ctx.redis, timeout=ctx.settings.translation_timeout_seconds,
        cache_secret=ctx.settings.resolved_secret_key(),  # cached translations are encrypted in Redis
    )
    ctx.translator = translator
    ctx.router.translator = translator


async def _purge_loop(ctx: AppContext) -> None:
    while True:
        try:
            n = await purge.stale(ctx, timedelta(days=ctx.settings.purge_unconsented_after_days))
            if n:
                log.info("stale_unconsented_purged", conversations=n)
            # the profiles' retention rules (issue 12): counts only in the log
            done = await retention.run(ctx, ctx.profiles.all(),
                                       default_unconsented_days=ctx.settings.purge_unconsented_after_days)
            log.info("retention_run", report=done)
        except Exception:
            log.exception("purge_failed")
        await asyncio.sleep(3600)


async def _warm(ctx: AppContext) -> None:
    """Load translation models and the language detector before the first resident waits.
    With no model installed the detector (lingua, ~170 MB) is left to load on first use, so
    an idle process without models stays small (issue 19)."""
    from i18n.detect import warm

    try:
        loaded = await ctx.translator.warm(ctx.settings.translation_warm_pairs())
        log.info("translation_warm", models=len(loaded))
        if loaded:
            await asyncio.to_thread(warm)
    except Exception:
        log.exception("translation_warm_failed")


async def _start(app: FastAPI, settings: Settings) -> tuple[AppContext, list[ChannelAdapter], list[asyncio.Task[Any]]]:
    ctx = await build_context(settings)
    app.state.ctx = ctx
    adapters = load_channels().build(ctx)
    app.state.channels = {a.name: a for a in adapters}
    _mount_channels(app, ctx, adapters)
    log_screen_status()
    await ctx.hub.start()
    await ctx.router.start()
    background = [asyncio.create_task(_purge_loop(ctx), name="purge"), start_waiting_monitor(ctx)]
    for adapter in adapters:
        background += await adapter.start()
    if ctx.translator is not None:
        background.append(asyncio.create_task(_warm(ctx), name="translation-warm"))
    if settings.report_schedule:  # the monthly report mailed by the 10th
        from madoguchi.reports.delivery import schedule_loop

        background.append(asyncio.create_task(schedule_loop(settings, ctx.sessions, ctx.profiles), name="report-schedule"))
    # Everything loaded at start lives as long as the process: keep it out of the collector's
    # full passes (which otherwise stall the loop, and the acks, for tens of ms).
    gc.collect()
    gc.freeze()
    # The dialog step runs Python code on its own thread (handoff.offload); a shorter GIL
    # switch interval (default 5 ms) keeps that thread from holding the loop, and the acks, up.
    sys.setswitchinterval(0.0005)
    log.info("started", database=ctx.engine.dialect.name, redis=ctx.redis is not None,
             channels=[a.name for a in adapters])
    return ctx, adapters, background


async def _stop(ctx: AppContext, adapters: list[ChannelAdapter], background: list[asyncio.Task[Any]]) -> None:
    for adapter in adapters:  # inbound first: pollers end their IMAP sessions cleanly
        await adapter.stop()
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    await ctx.router.queue.stop()
    if ctx.translator is not None:
        await ctx.translator.aclose()
    for adapter in adapters:  # channel clients hold HTTP sessions
        await adapter.aclose()
    await ctx.hub.stop()
    if ctx.redis is not None:
        await ctx.redis.aclose()
    await ctx.engine.dispose()


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    ctx, adapters, background = await _start(app, settings)
    try:
        yield
    finally:
        await _stop(ctx, adapters, background)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    mlogging.configure(settings.log_level, settings.log_json)

    def lifespan(app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
        return _lifespan(app, settings)

    app = FastAPI(
        title="madoguchi",
        version="0.1.0",
        description="Chat and messaging intake for municipal welfare consultation centres.",
        lifespan=lifespan,
        **_no_native_telemetry(),
    )
    app.state.fixed_routes = {}  # the channels' webhook acks, filled when they are mounted

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Say what is wrong without echoing the resident's input back.
        errors = [{"loc": e.get("loc"), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.get("/healthz", tags=["ops"])
    async def healthz(request: Request) -> dict[str, object]:
        ctx: AppContext = request.app.state.ctx
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        redis_ok = None
        if ctx.redis is not None:
            redis_ok = bool(await ctx.redis.ping())
        return {"status": "ok", "database": ctx.engine.dialect.name, "redis": redis_ok}

    @app.get("/metrics", tags=["ops"])
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(landing_router())  # `/`: the landing page leading to the chat
    handoff_api.mount(app)  # the counsellor API and console (context from app.state)

    # Pure ASGI (not @app.middleware("http"), whose per-request task group cost the webhook a third of its CPU).
    # Innermost, so every middleware below still wraps the webhook acks it answers.
    app.add_middleware(FixedRoutesMiddleware, table=app.state.fixed_routes)
    app.add_middleware(PageHeadersMiddleware, headers=SECURITY_HEADERS)
    app.add_middleware(AckFirstMiddleware)  # in-process consumers let webhook answers go first

    install_hardening(app, settings)  # issue 17: outermost middleware, log scrubbing (keep last)
    return app


def _no_native_telemetry() -> dict[str, Any]:
    """FastAPI's own OpenTelemetry hooks off where this FastAPI has them: the service exports
    Prometheus metrics (/metrics) and structlog lines, and the per-request check whether an
    OpenTelemetry provider is set was a twentieth of the webhook ack's CPU (issue 19)."""
    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}


def _mount_channels(app: FastAPI, ctx: AppContext, adapters: list[ChannelAdapter]) -> None:
    """The channels configured in this process (their credentials are known once the context
    exists). The counsellor API is mounted by create_app (handoff.api.mount)."""
    before = len(app.router.routes)
    fixed = getattr(app.state, "fixed_routes", None)
    for adapter in adapters:
        routes = adapter.routes()
        if routes is not None:
            app.include_router(routes)  # included without a prefix: its paths are the app's
            if fixed is not None:  # the acks answered ahead of routing (madoguchi.fixed_routes)
                fixed.update(fixed_endpoints(routes.routes))
    # The webhooks first: routing tries routes in order, and the channels' were tried after
    # the hundred API routes on every ack (a fifth of its CPU).
    routes = app.router.routes
    added = routes[before:]
    del routes[before:]
    routes[:0] = added
    mark = getattr(app.router, "_mark_routes_changed", None)  # FastAPI ≥ 0.16x caches its route table
    if mark is not None:
        mark()
    # (still factories of the context: the lead's dashboard data and the web chat's survey)
    app.include_router(reports_router(ctx))  # the lead's dashboard data (read-only)
    app.include_router(survey_router(ctx))  # the web chat's post-session survey
    app.include_router(secure_router)  # issue 16: the sensitive steps on the operator's own page
    app.include_router(upload_router)  # issue 16: the web chat's upload button
    from madoguchi.lifecycle.api import router as lifecycle_router

    app.include_router(lifecycle_router)  # disclosure, erasure, withdrawal on behalf, incidents
    app.openapi_schema = None  # regenerate with the routes now mounted
