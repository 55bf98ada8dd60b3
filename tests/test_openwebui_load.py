"""200 people at once on the real Open WebUI 0.12.4, started with the environment the deploy renders for
``openwebui_users = 200`` ('auto' chooses PostgreSQL; workers sized to this machine's cores) on the distribution's
real PostgreSQL and Redis, in front of a stand-in vLLM answering each request in about half a second: each person
signs in, lists the models, opens the websocket, asks in a new chat and gets the answer streamed; every answer
must be saved, none lost. For DROPPED of them Open WebUI itself closes the socket as they ask (the moment three
answers went missing in earlier runs): the driver keeps its socket as the web page does (it connects again and, once
the answer is done, loads the chat), and a person whose answer then stalls for 30 s reloads the page, as a person
would, so they get their answer too. Anyone else whose page hears nothing of their answer for 90 s asks Open WebUI
whether it is still under way (the page shows it so): if so they wait on, if it finished unheard they reload. A
request Open WebUI answers with a server error (5xx) is tried again after a pause, as a person reloads; the run
prints how many were (server_errors_retried).

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
DROPPED = 5


def test_200_people_at_once_on_postgresql_every_answer_saved():
    real.require()
    db.require()
    figures = run_team("auto", PEOPLE, db.workdir("rs-owui-load-"), drop=DROPPED)
    print(f"\n{PEOPLE} people at once: {json.dumps(figures)}")
    assert figures["database"] == "postgresql"  # 200 people: 'auto' chose PostgreSQL
    assert figures["saved"] == PEOPLE, figures
    assert figures["errors"] == {}, figures
    assert figures["database_is_locked"] == 0
    assert figures["model_list_failures"] == 0  # every page listed the engine's model, none fell back to none
    assert figures["streamed_deltas_min"] > 0  # every answer not loaded after a drop came over the websocket
    assert figures["people_dropped"] >= DROPPED  # each of them lost the socket (closed by the server, as meant, or
    assert figures["drops_by_reason"].get("server disconnect", 0) > 0  # lost to the load first) and got the answer
    # Every other answer streams live to its person, except where Open WebUI 0.12.4 finishes an answer without its
    # events reaching a socket that never dropped (the answer saved): that person reloads after 90 s of silence, as
    # anyone would, and loads it. Run after the other lanes on a 2-core machine it has left 22 of 200 so (their
    # answers' tasks already gone: not slowness, quiet_while_running 0; a run before the driver told the two apart
    # counted 43); alone, none. Each of them got the answer; a quarter of the people missing theirs would be a
    # regression.
    assert figures["loaded_after_reconnect"] <= figures["people_dropped"] + figures["stalled_without_drop"]
    assert figures["stalled_without_drop"] < PEOPLE // 4, figures
    assert figures["chats_in_database"] == PEOPLE  # one chat each, none lost
