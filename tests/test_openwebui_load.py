"""200 people at once on the real Open WebUI 0.12.4, started with the environment the deploy renders for
``openwebui_users = 200`` ('auto' chooses PostgreSQL; workers sized to this machine's cores) on the distribution's
real PostgreSQL and Redis, in front of a stand-in vLLM answering each request in about half a second: each person
signs in, lists the models, opens the websocket, asks in a new chat and gets the answer streamed; every answer
must be saved, none lost.

Slow: about four minutes on two cores. The figures are printed (bench/openwebui_load.py makes the README's table).
"""

from __future__ import annotations

import json

import pytest
import real_database as db
import real_openwebui as real
from openwebui_team import run_team

pytestmark = [pytest.mark.slow, pytest.mark.alone]  # 200 people load both cores: run alone

PEOPLE = 200


def test_200_people_at_once_on_postgresql_every_answer_saved():
    real.require()
    db.require()
    figures = run_team("auto", PEOPLE, db.workdir("rs-owui-load-"))
    print(f"\n{PEOPLE} people at once: {json.dumps(figures)}")
    assert figures["database"] == "postgresql"  # 200 people: 'auto' chose PostgreSQL
    assert figures["saved"] == PEOPLE, figures
    assert figures["errors"] == {}, figures
    assert figures["database_is_locked"] == 0
    assert figures["streamed_deltas_min"] > 0  # every answer came over the websocket, not only saved
    assert figures["chats_in_database"] == PEOPLE  # one chat each, none lost
