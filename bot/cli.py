"""`pitwall` (also `python -m bot`): index, ask, search, chat, eval, bench, bot, feeds, fetch, add, feedback.

With --json a command prints exactly one JSON document on stdout (one per line for `ask -`); progress
and logs go to stderr. Every user error becomes one clear message and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from bot.exit_codes import ExitCode
from bot.settings import SEARCH_RESULTS, Settings
from bot.terminal import PrintableFormatter, printable
from index.errors import UserError

if TYPE_CHECKING:
    from bot.answering.answers import Answer

EXIT_OK = ExitCode.OK
EXIT_ERROR = ExitCode.ERROR
EXIT_USAGE = ExitCode.USAGE
EXIT_SOME_REJECTED = ExitCode.SOME_REJECTED
EXIT_NOTHING_INDEXED = ExitCode.NOTHING_INDEXED


MAX_LINE_CHARS = 10_000  # a line of `pitwall ask -` longer than this is not a question: reading stops


def main(argv: list[str] | None = None) -> int:
    args = _parser(json_errors="--json" in (sys.argv[1:] if argv is None else argv)).parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    try:
        settings = Settings()
        for name in ("corpus", "index"):
            if getattr(args, name, None):
                settings = settings.model_copy(update={f"{name}_dir": getattr(args, name)})
        return args.run(args, settings)
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except Exception as error:  # the one handler of the CLI edge: one line, no traceback
        message = error_message(error)
        if args.verbose:
            logging.getLogger("pitwall").exception("the traceback of: %s", message)
        if getattr(args, "json", False):
            print(json.dumps({"error": message}, ensure_ascii=False))
        print(f"pitwall: {printable(message)}", file=sys.stderr)
        return ExitCode.ERROR


def error_message(error: BaseException) -> str:
    """One line that says what went wrong: a user error's own message, an OS error with its file, the
    settings that are invalid; anything else is named as an internal error."""
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        problems = (
            f"PITWALL_{'_'.join(map(str, problem['loc'])).upper()}: {problem['msg']}"
            for problem in error.errors()
        )
        text = "invalid setting " + "; ".join(problems)
    elif isinstance(error, UserError | ValueError):
        text = str(error)
    elif isinstance(error, OSError):
        where = f" {error.filename}" if error.filename else ""
        text = f"cannot access{where}: {error.strerror or error}"
    else:
        text = f"internal error ({type(error).__name__}: {error}); run with -v for the traceback"
    return " ".join(text.split())


class _Parser(argparse.ArgumentParser):
    """argparse that, with `json_errors` (--json among the arguments), also prints a usage error as one
    JSON document on stdout, as every other failure of a command under --json is."""

    def __init__(self, *args, json_errors: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.json_errors = json_errors

    def error(self, message: str) -> NoReturn:
        if self.json_errors:
            print(json.dumps({"error": message}, ensure_ascii=False))
        super().error(message)


def _parser(json_errors: bool = False) -> argparse.ArgumentParser:
    parser = _Parser(prog="pitwall", description=__doc__.splitlines()[0], json_errors=json_errors)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more to stderr")
    commands = parser.add_subparsers(
        required=True, metavar="COMMAND", parser_class=functools.partial(_Parser, json_errors=json_errors)
    )

    def command(name: str, run: Callable, help_: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_, description=help_)
        sub.set_defaults(run=run)
        return sub

    p = command("index", _index, "build or update the index from the corpus folder")
    p.add_argument("--corpus", type=Path, help="corpus folder (default: PITWALL_CORPUS_DIR or corpus/)")
    p.add_argument("--index", type=Path, help="index folder (default: PITWALL_INDEX_DIR or .index/)")
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="embed on Ray workers: 'local' (start Ray here), 'auto' or 'ray://host:10001' (join a cluster); "
        "needs pitwall[ray]",
    )
    p.add_argument(
        "--ray-workers", type=_positive, metavar="N", help="Ray workers (default: one per CPU of the cluster)"
    )
    p.add_argument("--json", action="store_true", help="print the report as one JSON document")

    p = command("ask", _ask, "answer a question with cited quotes ('-': one question per line on stdin)")
    p.add_argument("question")
    _add_filters(p)
    p.add_argument("--json", action="store_true")

    p = command("search", _search, "ranked passages for a query")
    p.add_argument("query")
    p.add_argument(
        "-k", type=int, default=SEARCH_RESULTS, help=f"number of passages (default {SEARCH_RESULTS})"
    )
    p.add_argument("--mode", choices=("hybrid", "dense", "bm25"), default="hybrid")
    _add_filters(p)
    p.add_argument("--json", action="store_true")

    command("chat", _chat, "ask questions interactively in the terminal")

    p = command(
        "eval", _eval, "retrieval quality (R@k, nDCG@10, MRR@10) of bm25, dense and hybrid on SQuAD data"
    )
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--squad", type=Path, metavar="DOCS.json", help="paragraphs (and questions)")
    data.add_argument(
        "--news",
        type=Path,
        metavar="ARTICLES.csv",
        help="with --answers: a 10kGNAD 'label;text' CSV as the archive, --questions a JSON Lines set",
    )
    p.add_argument(
        "--questions",
        type=Path,
        metavar="Q.json",
        help="questions joined on id (other language); with --news: the question set (JSON Lines)",
    )
    kind = p.add_mutually_exclusive_group()
    kind.add_argument(
        "--abstention",
        action="store_true",
        help="instead: index half of the articles and report how often Pitwall answers and abstains",
    )
    kind.add_argument(
        "--answers",
        action="store_true",
        help="instead: ask every question and report how often a shown quote contains the answer",
    )
    p.add_argument(
        "--work-dir", type=Path, help="where the evaluation index is kept (default: a cache folder)"
    )
    p.add_argument("--json", action="store_true")

    p = command("bench", _bench, "speed and memory of indexing and answering at several corpus sizes")
    p.add_argument("--sizes", type=_sizes, default="1000,10000,100000", help="corpus sizes in chunks")
    p.add_argument(
        "--vector-sizes", type=_sizes, default="100000,1000000", help="FAISS-only sizes ('' for none)"
    )
    p.add_argument("--gnad", type=Path, help="10kGNAD test.csv (default: ../shared/eval/10kGNAD/test.csv)")
    p.add_argument("--work-dir", type=Path, help="scratch and vector cache (default: ~/.cache/pitwall/bench)")
    p.add_argument(
        "--rounds", type=int, default=2, help="times each of the 20 questions is asked (default 2)"
    )
    p.add_argument(
        "--build-articles",
        type=int,
        help="articles of the full build with real embedding (default: all 1,028; 0: none)",
    )
    p.add_argument(
        "--cold-asks", type=int, default=3, help="cold `pitwall ask` runs after the full build (default 3)"
    )
    p.add_argument(
        "--feed-chunks",
        type=int,
        default=10_000,
        help="chunks of the index 20 feed articles are fetched into (default 10000; 0: no feeds line)",
    )
    p.add_argument("--chart", type=Path, default="bench.png", help="PNG chart path (default bench.png)")
    p.add_argument("--json", action="store_true")

    p = command("bot", _bot, "run the Discord bot (brings the index up to date first)")
    p.add_argument("--corpus", type=Path, help="corpus folder")
    p.add_argument("--index", type=Path, help="index folder")

    p = command("feeds", _feeds, "subscribe to RSS/Atom feeds: add, list, remove, import, export")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="subscribe to a feed (fetched by `pitwall fetch`)")
    a.add_argument("url")
    a.add_argument("--name", help="the name its articles are cited with (default: the host)")
    a = actions.add_parser("list", help="the feeds with their last success, last error and articles")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("remove", help="unsubscribe (articles already fetched stay in the corpus)")
    a.add_argument("url")
    a = actions.add_parser("import", help="subscribe to every feed of an OPML file")
    a.add_argument("file", type=Path, metavar="FILE.opml")
    actions.add_parser("export", help="print the subscriptions as OPML 2.0")

    p = command("fetch", _fetch, "fetch every feed once, write new articles to the corpus, update the index")
    p.add_argument("--no-index", action="store_true", help="only write the articles")
    p.add_argument("--json", action="store_true", help="print the report as one JSON document")

    p = command("add", _add, "fetch one article link into the corpus and update the index")
    p.add_argument("url")
    p.add_argument("--no-index", action="store_true", help="only write the article")
    p.add_argument("--json", action="store_true", help="print the report as one JSON document")

    p = command("feedback", _feedback, "export the votes given under answers in Discord")
    p.add_argument("--json", action="store_true")
    return parser


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--index", type=Path, help="index folder")
    parser.add_argument("--since", type=_date, help="only articles published on or after YYYY-MM-DD")
    parser.add_argument("--until", type=_date, help="only articles published on or before YYYY-MM-DD")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-05-31") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list of sizes like 1000,10000") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"sizes must be at least 1, got {text!r}")
    return sizes


def _service(settings: Settings):
    from bot.service import AnswerService

    return AnswerService(settings)


def _index(args: argparse.Namespace, settings: Settings) -> int:
    from index.build import NothingToIndex

    if args.ray_workers and not args.ray:
        raise ValueError("--ray-workers needs --ray ADDRESS")
    service = _service(settings)
    bar = _ProgressBar()
    try:
        report = service.reindex(progress=bar.update, ray=args.ray, ray_workers=args.ray_workers)
    except NothingToIndex as error:
        bar.close()
        if args.json:
            print(json.dumps({"error": str(error), "errors": [e.to_json() for e in error.errors]}))
        print(f"pitwall: {printable(str(error))}", file=sys.stderr)
        for problem in error.errors:
            print(f"  rejected {printable(problem.where())}: {printable(problem.error)}", file=sys.stderr)
        return EXIT_NOTHING_INDEXED
    bar.close()
    for problem in report.errors:
        print(f"rejected {printable(problem.where())}: {printable(problem.error)}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning {printable(warning.where())}: {printable(warning.error)}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        print(
            f"{report.articles} articles, {report.chunks} chunks in {settings.index_dir} "
            f"({report.added} added, {report.changed} changed, {report.removed} removed, "
            f"{report.embedded_chunks} chunks embedded ({report.engine}, {report.workers} workers), "
            f"{len(report.errors)} files rejected) "
            f"in {report.seconds:.1f} s"
        )
    return EXIT_SOME_REJECTED if report.errors else EXIT_OK


class _ProgressBar:
    """A tqdm bar on stderr, created on the first update (nothing to embed: no bar)."""

    def __init__(self) -> None:
        self._bar = None

    def update(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, unit="text", desc="embedding chunks and sentences", file=sys.stderr, leave=False
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    service = _service(settings)
    if args.question != "-":
        _print_answer(service.ask(args.question, since=args.since, until=args.until), args.json)
        return ExitCode.OK
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")  # a line that is not UTF-8 is reported, not fatal
    status = ExitCode.OK
    for number, line in enumerate(iter(lambda: sys.stdin.readline(MAX_LINE_CHARS + 1), ""), start=1):
        if len(line) > MAX_LINE_CHARS:  # nothing of a longer line is kept: reading stops here
            message = f"line {number} of stdin is over {MAX_LINE_CHARS:,} characters: one question per line"
            _print_error(message, args.json)
            return ExitCode.ERROR
        if not line.strip():
            continue
        try:
            answer = service.ask(line, since=args.since, until=args.until)
        except UserError as error:  # this line only: the others are still answered
            status = ExitCode.ERROR
            _print_error(str(error), args.json)
            continue
        _print_answer(answer, args.json)
    return status


def _print_error(message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": message}, ensure_ascii=False), flush=True)
    print(f"pitwall: {printable(message)}", file=sys.stderr)


def _print_answer(answer: Answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer_json(answer), ensure_ascii=False), flush=True)
    else:
        print(printable(format_answer(answer), lines=True), flush=True)


def _search(args: argparse.Namespace, settings: Settings) -> int:
    if args.k < 1:
        raise ValueError("-k must be at least 1")
    results = _service(settings).search(
        args.query, k=args.k, since=args.since, until=args.until, mode=args.mode
    )
    if args.json:
        print(json.dumps({"query": args.query, "hits": [r.to_json() for r in results]}, ensure_ascii=False))
        return EXIT_OK
    if not results:
        print("No passages found.")
    for rank, result in enumerate(results, start=1):
        print(
            f"{rank}. {printable(result.title)} [{printable(result.article_id)}] score {result.score:.3f}\n"
            f"   {printable(result.text, lines=True)}\n"
        )
    return EXIT_OK


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.service import QuestionError

    service = _service(settings)
    print("Ask about the archive; an empty line or Ctrl-D ends.", file=sys.stderr)
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(errors="surrogateescape")  # a line that is not UTF-8 is reported, not fatal
    previous = ""
    while True:
        try:
            question = input("? ").strip()
        except EOFError:
            return EXIT_OK
        if not question:
            return EXIT_OK
        try:
            answer = service.ask(question, context=previous)
        except QuestionError as error:  # this question only: ask the next one
            print(f"pitwall: {printable(str(error))}", file=sys.stderr)
            continue
        print(printable(format_answer(answer), lines=True) + "\n")
        previous = question


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.evaluation.retrieval import evaluate, read_squad
    from bot.service import make_embedder

    for path in (args.squad, args.news, args.questions):
        if path is not None and not path.is_file():
            raise ValueError(f"{path} is not a file")
    if args.news and not (args.answers and args.questions):
        raise ValueError("--news needs --answers and --questions QUESTIONS.jsonl")
    if args.squad:
        read_squad(args.squad, args.questions)  # data of another shape is reported before the model loads
    work_dir = args.work_dir or Path.home() / ".cache" / "pitwall" / "eval"
    embedder = make_embedder(settings)
    if args.answers:
        return _eval_answers(args, settings, work_dir, embedder)
    if args.abstention:
        return _eval_abstention(args, settings, work_dir, embedder)
    result = evaluate(
        args.squad,
        args.questions,
        settings=settings,
        embedder=embedder,
        work_dir=work_dir,
        progress=lambda message: print(message, file=sys.stderr),
    )
    if args.json:
        print(json.dumps(result))
        return EXIT_OK
    print(f"{result['documents']} documents, {result['questions']} questions")
    print(
        f"{'retriever':<10}" + "".join(f"{name:>9}" for name in ("R@1", "R@5", "R@10", "nDCG@10", "MRR@10"))
    )
    for retriever, m in result["retrievers"].items():
        print(
            f"{retriever:<10}" + "".join(f"{m[key]:>9.3f}" for key in ("r1", "r5", "r10", "ndcg10", "mrr10"))
        )
    return EXIT_OK


def _eval_abstention(args: argparse.Namespace, settings: Settings, work_dir: Path, embedder) -> int:
    from bot.evaluation.retrieval import evaluate_abstention

    result = evaluate_abstention(
        args.squad,
        args.questions,
        settings=settings,
        embedder=embedder,
        work_dir=work_dir,
        progress=lambda message: print(message, file=sys.stderr),
    )
    if args.json:
        print(json.dumps(result))
        return EXIT_OK
    a = result["abstention"]
    print(f"{result['documents']} documents indexed (half the articles), {result['questions']} questions")
    print(f"threshold {a['threshold']:.2f}")
    print(f"answered, article in the index:      {a['answered_in_index']:.3f} of {a['questions_in']}")
    print(f"abstained, article not in the index: {a['abstained_not_in_index']:.3f} of {a['questions_out']}")
    print(f"threshold balancing both on this data: {a['balanced_threshold']:.2f}")
    return EXIT_OK


def _eval_answers(args: argparse.Namespace, settings: Settings, work_dir: Path, embedder) -> int:
    from bot.bench.corpus import read_gnad
    from bot.evaluation.answers import evaluate_answers, read_question_set, squad_questions

    if args.news:
        articles, questions = read_gnad(args.news), read_question_set(args.questions)
    else:
        articles, questions = squad_questions(args.squad, args.questions)
    result = evaluate_answers(
        articles,
        questions,
        settings=settings,
        embedder=embedder,
        work_dir=work_dir,
        progress=lambda message: print(message, file=sys.stderr),
    )
    if args.json:
        print(json.dumps(result))
        return EXIT_OK
    print(f"{result['articles']} articles")
    print(
        f"{'split':<9}{'language':<10}{'questions':>10}{'in quote':>10}{'abstained':>11}{'unanswerable':>14}"
    )
    rows = [("all", "", result["answers"])] + [
        (split, language, summary)
        for split, languages in result["by_split"].items()
        for language, summary in languages.items()
    ]
    for split, language, s in rows:
        unanswerable = (
            f"{s['unanswerable_abstained']:.3f} of {s['unanswerable']}" if "unanswerable" in s else "-"
        )
        print(
            f"{split:<9}{language:<10}{s['questions']:>10}{s['answer_in_quote']:>10.3f}"
            f"{s['abstained']:>11.3f}{unanswerable:>14}"
        )
    return EXIT_OK


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bot.bench.corpus import DEFAULT_GNAD, read_gnad
    from bot.bench.report import format_table, write_chart
    from bot.bench.run import BenchOptions, run_bench

    if args.rounds < 1:
        raise ValueError("--rounds must be at least 1")
    if (args.build_articles is not None and args.build_articles < 0) or min(
        args.cold_asks, args.feed_chunks
    ) < 0:
        raise ValueError("--build-articles, --cold-asks and --feed-chunks must be 0 or more")
    gnad = args.gnad or DEFAULT_GNAD
    read_gnad(gnad)  # a missing file is reported before the model loads
    options = BenchOptions(
        gnad=gnad,
        work_dir=args.work_dir or Path.home() / ".cache" / "pitwall" / "bench",
        sizes=args.sizes,
        vector_sizes=args.vector_sizes,
        rounds=args.rounds,
        build_articles=args.build_articles,
        cold_asks=args.cold_asks,
        feed_chunks=args.feed_chunks,
    )
    embedder = _service(settings).embedder()
    result = run_bench(options, settings, embedder, log=lambda message: print(message, file=sys.stderr))
    if args.chart:
        write_chart(result, args.chart)
        result["chart"] = str(args.chart)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_table(result))
    return EXIT_OK


def _bot(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord_bot import DiscordSettings, run_bot
    from index.build import NothingToIndex
    from index.ingest.loading import CorpusError
    from index.store.generations import read_manifest

    discord_settings = DiscordSettings()
    discord_settings.require_token()  # before the start-up re-index, which may take minutes
    service = _service(settings)
    try:
        report = service.reindex_at_start(
            progress=_ProgressBar().update, notify=lambda note: print(f"pitwall: {note}", file=sys.stderr)
        )
    except NothingToIndex as error:
        print(f"pitwall: {error}", file=sys.stderr)
        return EXIT_NOTHING_INDEXED
    except CorpusError as error:  # e.g. no corpus folder on this machine: serve the index if there is one
        if read_manifest(settings.index_dir) is None:
            raise
        print(f"pitwall: {error}; answering from the existing index", file=sys.stderr)
    else:
        if report is not None:
            print(f"index: {report.articles} articles, {report.chunks} chunks", file=sys.stderr)
    from bot.feeds import FeedService

    feeds = FeedService(settings, service)  # /feeds, /add and the refresh every PITWALL_FEED_REFRESH_MINUTES
    return run_bot(discord_settings, service, feeds, settings.feed_refresh_minutes)


def _feed_service(settings: Settings):
    from bot.feeds import FeedService

    return FeedService(settings, _service(settings))


def _feeds(args: argparse.Namespace, settings: Settings) -> int:
    service = _feed_service(settings)
    if args.action == "add":
        feed = service.add(args.url, args.name)
        print(f"following {printable(feed.name)} ({printable(feed.url)}); `pitwall fetch` brings it in")
    elif args.action == "remove":
        if not service.remove(args.url):
            raise ValueError(f"not following {args.url}; `pitwall feeds list` shows the feeds")
        print(f"no longer following {printable(args.url)} (its articles stay in the corpus folder)")
    elif args.action == "import":
        feeds = service.import_opml(args.file)
        print(f"following {len(feeds)} feeds from {printable(str(args.file))}")
    elif args.action == "export":
        sys.stdout.write(service.export_opml())
    elif args.json:
        print(json.dumps([feed.to_json() for feed in service.list()], ensure_ascii=False))
    else:
        feeds = service.list()
        for feed in feeds:
            success = feed.last_success.strftime("%Y-%m-%d %H:%M") if feed.last_success else "never"
            state = f"FAILING ({feed.failures_in_row} in a row)" if feed.failing else "ok"
            print(f"{printable(feed.name)}  {printable(feed.url)}")
            print(f"    {state}, {feed.articles} articles, last success {success} UTC")
            if feed.last_error:
                print(f"    last error: {printable(feed.last_error)}")
        if not feeds:
            print("No feeds; add one with `pitwall feeds add URL`.", file=sys.stderr)
    return EXIT_OK


def _fetch(args: argparse.Namespace, settings: Settings) -> int:
    return _fetch_report(_feed_service(settings).fetch(index=not args.no_index), args.json)


def _add(args: argparse.Namespace, settings: Settings) -> int:
    return _fetch_report(_feed_service(settings).add_article(args.url, index=not args.no_index), args.json)


def _fetch_report(report, as_json: bool) -> int:  # noqa: ANN001 (bot.feeds.FetchReport, imported lazily)
    if as_json:
        print(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        for feed in report.feeds:
            name = printable(feed.name or feed.url)
            if feed.error:
                print(f"{name}: failed: {printable(feed.error)}")
                continue
            print(
                f"{name}: {feed.new} new, {feed.updated} updated, {feed.unchanged} unchanged, "
                f"{feed.failed} failed"
            )
            for line in (feed.warning, *feed.problems):
                if line:
                    print(f"    {printable(line)}")
        if not report.feeds:
            print("No feeds; add one with `pitwall feeds add URL`.", file=sys.stderr)
        index = report.index
        where = f"; index: {index.articles} articles, {index.chunks} chunks" if index else ""
        print(f"{len(report.written)} articles written{where}")
    if report.nothing_fetched:
        return EXIT_ERROR
    return EXIT_SOME_REJECTED if report.failed else EXIT_OK


def _feedback(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord_bot import DiscordSettings, export_feedback

    votes = export_feedback(DiscordSettings().feedback_db)
    if args.json:
        print(json.dumps(votes, ensure_ascii=False))
        return EXIT_OK
    for vote in votes:
        print(f"{vote['time']}  {vote['vote']:<12} {vote['question']}")
    print(f"{len(votes)} votes", file=sys.stderr)
    return EXIT_OK


def answer_json(answer: Answer) -> dict:
    return {
        "question": answer.question,
        "language": answer.language,
        "abstained": answer.abstained,
        "answer": answer.answer,
        "citations": [
            {
                "n": c.n,
                "quote": c.quote,
                "article_id": c.article_id,
                "title": c.title,
                "url": c.url,
                "published": c.published.isoformat() if c.published else None,
                "score": c.score,
                "link": c.link,
                "source": c.source,
            }
            for c in answer.citations
        ],
        "closest": [{"article_id": r.article_id, "title": r.title, "url": r.url} for r in answer.closest],
        "timings_ms": dict(answer.timings_ms),
    }


def format_answer(answer: Answer) -> str:
    lines = [answer.answer]
    for c in answer.citations:
        date = c.published.isoformat() if c.published else "undated"
        where = ", ".join(part for part in (c.source, date, c.link or c.url) if part)
        lines.append(f"[{c.n}] „{c.quote}“\n    — {c.title} ({where})")
    for ref in answer.closest:
        lines.append(f"  - {ref.title}" + (f" ({ref.url})" if ref.url else ""))
    return "\n".join(lines)
