"""Reads the HAR of the auth-chain stateful run (scripts/contract-fuzz.sh) and
exits 1 unless every hop of register -> login -> refresh -> logout was taken
with data that the hop before it produced, the way the spec's links say:

- register -> login: a 200 login with the email and password of a 201 registration;
- login -> refresh: a 200 refresh with a refresh token that a login issued;
- refresh -> logout: a 204 logout with a refresh token that a refresh issued.

It also says whether one account went through the whole chain in one scenario
(the fuzzer picks its next step at random, so that is reported, not required).

Usage: chain_check.py HAR_FILE
"""

import json
import sys
from urllib.parse import urlsplit

HOPS = [("register", "login"), ("login", "refresh"), ("refresh", "logout")]


def _json(text):
    try:
        return json.loads(text or "null")
    except ValueError:
        return None


def _key(value):
    return json.dumps(value, sort_keys=True)


def main(path):
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)["log"]["entries"]
    accounts = {}  # (email, password) of a 201 registration -> its steps
    issued = {}  # refresh token -> the steps that led to it
    taken = set()
    whole = None
    for entry in entries:
        request, response = entry["request"], entry["response"]
        step = urlsplit(request["url"]).path.strip("/")
        sent = _json((request.get("postData") or {}).get("text"))
        answer = _json(response["content"].get("text"))
        if not isinstance(sent, dict):
            continue
        status = response["status"]
        if step == "register" and status == 201:
            steps = ["register"]
            accounts[(_key(sent.get("email")), _key(sent.get("password")))] = steps
        elif step == "login" and status == 200:
            before = accounts.get((_key(sent.get("email")), _key(sent.get("password"))))
            steps = before + ["login"] if before else None
        elif (step, status) in (("refresh", 200), ("logout", 204)):
            token = sent.get("refresh_token")
            before = issued.get(token) if isinstance(token, str) else None
            steps = before + [step] if before else None
        else:
            continue
        if steps is None:
            continue
        if len(steps) > 1:
            taken.add((steps[-2], steps[-1]))
        if isinstance(answer, dict) and isinstance(answer.get("refresh_token"), str):
            issued[answer["refresh_token"]] = steps
        # Several refreshes in a row are one "refresh" step of the chain.
        collapsed = [s for i, s in enumerate(steps) if i == 0 or steps[i - 1] != s]
        if collapsed == ["register", "login", "refresh", "logout"]:
            whole = steps
    for hop in HOPS:
        print(f"  {hop[0]} -> {hop[1]}: {'taken' if hop in taken else 'NOT TAKEN'}")
    print("  one account through the whole chain: " + (" -> ".join(whole) if whole else "not this time"))
    missing = [hop for hop in HOPS if hop not in taken]
    if missing:
        print(f"FAILED: the stateful run did not take every hop of the chain ({path})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
