// Package gitstore is kubesnap's only go-git code: it reads trees at a
// revision, writes commits from changed paths, keeps a checked-out
// worktree and its index in step with the branch, and pushes, fetches and
// rebases the branch against a remote. It implements sync.Store,
// sync.Remote and sync.Tagger (Repo) and sync.Reader (Revision).
//
// A commit, a push and a pull cost what changed, not what the repository
// holds: none rebuilds the whole tree, scans the whole worktree or walks
// the whole history.
//
// # Writing a commit
//
//	Stage(p, data)      while the snapshot lists: record p → blob id; keep
//	                    the blob in memory, or once there are packThreshold
//	                    compress it and append it to a temporary pack
//	                    (objects/pack/tmp_pack_*, count 0 in its header),
//	                    keeping only id, offset and CRC-32; write the file
//	                    into the worktree early (under the journal, see below)
//	Unstage()           the snapshot failed: remove the temporary pack
//	Commit(changes):
//	    blobs := the changed files' blobs; a change without Data takes the
//	             blob staged last for its path
//	    tree  := the head's tree with the changes; only the trees on the
//	             changed paths are rewritten, as bytes (unchanged entries
//	             copied), the others kept by id, unread
//	    write the commit, its trees and blobs: loose objects, or one pack
//	             and its index when there are many; with a temporary pack,
//	             append them to it, write the count into its header, read
//	             it once for its checksum, write the index, sync, rename
//	             (the index first); a failed commit removes it
//	    if the branch is checked out: write the journal
//	    move the branch, refusing if it moved meanwhile
//	    if checked out: write the changed files not written early, patch
//	             their index entries, clear the journal (with
//	             Options.IndexInBackground: write the index and clear the
//	             journal in the background once the commits pause, the
//	             commits of a burst in one write; the next commit adds to
//	             a write not started, any other index or journal user, or
//	             Flush, writes it first)
//
// With a base revision (Options.Base) Commit writes drift commits
// instead: the live state on top of the base, on a branch that is not
// checked out (base.go).
//
// # Reading the catalog
//
//	Log: from the branch head along first parents, newest first
//	    skip commits newer than Until; stop at Limit listed, or at the
//	        first commit older than Since (times assumed not to go back)
//	    Kubesnap-Changed N in the message: listed with N when its
//	        Kubesnap-Path is the prefix or below it, passed by when beside
//	    else: passed by when the prefix folder's id is the parent's
//	        (with a prefix), else listed with the files that differ,
//	        reading only folders whose ids differ
//
//	History(p): from the branch head along first parents, newest first
//	    per commit: its header only (tree, parent, committer time)
//	    the trees on p's path, top down, read only where their id
//	        differs from the same tree in the commit after (kept by id)
//	    the file's id differs: a change (added, modified, deleted);
//	        added while a folder of the same resource in another group
//	        lost a file of that name: follow that path from there on
//	    stop at Limit listed, or at the first commit older than Since
//
// # Maintenance
//
// Every one-object commit leaves about six loose objects; months of a
// watcher would leave millions. Maintain (kubesnap gc) and
// PrepareMaintenance (the watcher, every 32 commits) gather them, as
// git repack --geometric=2 -d does, with kubesnap's own pack writer,
// which stores each change as a delta against an earlier version of the
// same path (planRollup):
//
//	take .git/kubesnap-maintain.lock (O_EXCL; stale when its holder's
//	    pid is gone or it went untouched for 2 minutes), else write a
//	    loose pack (below) or skip
//	list loose objects, and packs with an index, minus .keep packs and
//	    the replaced packs still in their grace period
//	roll up the fewest smallest packs so that the packs left and the
//	    new one each hold at least twice the next smaller (rollUp):
//	    the big old packs are not rewritten
//	order them by walking the gathered commits oldest first, and write
//	    every loose object and every object of those packs into one
//	    new pack, one object at a time, a changed tree or file as a
//	    delta, read through a go-git storage of its own (safe while the
//	    Repo commits); sync, rename the index in, then the pack, sync
//	    the folder
//	finish (between two commits, in the Repo's goroutine):
//	    record the rolled packs as replaced, with the time
//	    make go-git re-read the pack list, then remove the loose objects
//	        listed above (only those: they are all in the new pack)
//	    remove the replaced packs older than the grace period (.pack
//	        first), re-read the pack list; release the lock
//
// A roll-up that reaches the oldest packs rewrites the whole history and
// may take minutes; the watcher lets a second maintenance start
// meanwhile, which writes a loose pack (maintain_loose.go):
//
//	take .git/kubesnap-maintain-loose.lock (as above), else skip
//	list the loose objects, less those this process's roll-up gathers;
//	    fewer than 512: skip
//	write them as one new pack, as above; rolls up no pack
//	finish: re-read the pack list, remove those loose objects; release
//
// The two share only loose objects, each removing only what its own
// synced pack holds (one already gone is passed by); a maintainer's
// go-git storage keeps its pack files open and, on an object it cannot
// find, re-reads the pack list and looks again.
//
// Why this is safe: nothing is removed before a synced, renamed pack
// holds it, so a SIGKILL at any point leaves every object somewhere.
// Replaced packs stay for a grace period (5 minutes) for readers in
// other processes that listed the packs before; git rescans on a miss
// as well. Unreachable objects are packed along, never pruned. Loose
// objects written after the listing, other writers' tmp_* files,
// objects/info/alternates and .keep packs are never touched.
//
// Loose objects are written by kubesnap itself (loose.go), each synced
// before its rename, and the commit after its trees and blobs: the
// branch never moves to a commit whose objects are not on disk.
//
// # The worktree
//
// Every file kubesnap writes, reads or removes in the worktree goes
// through a workdir: an os.Root that no path can leave, whose folders are
// each checked to be real folders. A symbolic link or a submodule where
// kubesnap writes is refused with a LinkError; kubesnap never follows or
// makes a link there. kubesnap refuses to commit over local edits
// (LocalEdits) and to check out a file a person changed.
//
// # The worktree journal
//
// Before it changes files in the worktree, kubesnap writes the journal,
// .git/kubesnap-worktree, saying what is under way (a commit, files
// staged early, or a branch move "from <old head>"), and removes it once
// the worktree and the index match the branch head. Open finds a journal
// a crash left and finishes the update: it resets the files kubesnap
// writes to HEAD, or after a branch move writes the files that differ
// between the old head and HEAD (journal.go).
//
// # Push, fetch and rebase
//
// gitstore speaks git's protocol through go-git's transports but chooses
// the objects itself:
//
//	Push:
//	    paint our commits and the remote's, newest first, until no commit
//	        only ours is left to walk
//	    send our commits the remote lacks, each with the trees and blobs
//	        its first parent lacks; never force
//	    the remote moved on (another writer): wait a random time (it grows
//	        each round), fetch, integrate, push again
//	Pull: fetch, integrate
//	fetch: ask for the remote branch, offering the commits we have near
//	    it, so the remote sends only what came after
//	integrate: nothing when we have the remote head, a fast-forward when
//	    we are behind, else replay our commits onto the remote head (a
//	    rebase: never a merge) and report the files both sides changed
//
// Moving the branch moves the worktree and the index along, file by
// changed file, and the local tags that pointed at replayed commits.
// Transport failures are retried with backoff; credentials never appear
// in errors (redact.go).
//
// # Files
//
// The repository:
//   - gitstore.go: Repo, the branch head, paths under the prefix.
//   - open.go: Options and Open.
//   - tree.go: reading a commit's tree (files below a folder, links
//     refused).
//   - read.go: Files, Read and BlobID at the branch head or the base.
//   - revision.go: Revision, At and Before; revision_blobs.go: ReadBlobs,
//     reading a whole revision's blobs.
//   - log.go: Log, the catalog of commits, read from their trailers
//     (Kubesnap-Changed, Kubesnap-Path); log_trees.go: the same from the
//     trees, for a commit whose message does not say.
//   - snapshots.go, owned.go: whether a revision or the branch holds a
//     kubesnap snapshot (CheckSnapshot, CheckOwned, NoSnapshotError).
//   - tags.go: Tag, Tags, DeleteTag, and moving tags after a rebase.
//   - history.go: History, the commits that changed one object's file,
//     following it through deletion and a move between groups;
//     history_walk.go: the walk, commit headers and the trees on the
//     file's path whose ids differ from the next commit's;
//     history_pack.go: the packs read directly for it (mapped:
//     history_mmap_linux.go, history_mmap_other.go); history_delta.go: applying a git delta.
//   - show.go: ReadObject, ReadBlob and TypeFolders, for show and for
//     naming a type without a cluster.
//   - names.go: RevisionNames and Revision.Entries, for shell completion.
//
// Writing a commit:
//   - commit.go: Commit, and CommitAs (by a given author); author.go: an
//     author from the audit events made safe for a commit header.
//   - tree_write.go: writeTree, the tree with edits, rewriting only the
//     trees on their paths; tree_raw.go: editing a tree as bytes, and the
//     trees kept between commits.
//   - staging.go: a commit's new objects, written loose or as one pack,
//     and the blobs Stage prepared.
//   - stage.go: Stage and Unstage, blobs kept or streamed while the
//     snapshot lists; early.go: files written into the worktree ahead of
//     Commit.
//   - pack.go: writing a pack from memory, and installing a pack with
//     its index; stream_pack.go: a pack written as its objects come;
//     pack_index.go: the index.
//   - loose.go: loose objects, synced, commits last; large trees stored
//     uncompressed.
//   - ref.go: moving a branch or tag as git does (a synced <ref>.lock
//     renamed over it), never rewriting the reference in place.
//   - base.go: drift commits on top of a base revision.
//
// Maintenance:
//   - maintain.go: Maintain, PrepareMaintenance and the finish.
//   - maintain_scan.go: the loose objects and packs on disk;
//     maintain_plan.go: rollUp, the geometric choice.
//   - maintain_pack.go: the new pack, streamed object by object;
//     maintain_delta.go: planRollup, the order and the delta bases.
//   - maintain_lock.go, maintain_lock_unix.go, maintain_lock_other.go:
//     the lock and whether its holder is gone.
//   - maintain_replaced.go: the replaced packs and their grace period.
//   - maintain_storage.go: the git folder as a maintainer's storage reads
//     it, without the replaced packs.
//   - maintain_loose.go: the loose pack written beside a roll-up, and
//     the storage that rescans the packs on a miss.
//
// The worktree and the index:
//   - workdir.go: the workdir, folders checked and kept open;
//     workdir_files.go: reading, writing and removing files through it;
//     create_linux.go, create_other.go: new files written by system calls
//     of their own; link.go: LinkError and the names kubesnap never writes.
//   - commit_worktree.go: a commit's files and index entries.
//   - worktree.go: the folders kubesnap writes, and whether a file differs
//     from a blob; local_edits.go: LocalEdits.
//   - index.go: loading, merging and saving the index; index_encode.go:
//     encoding it, and patching entries in place; index_background.go:
//     the index written after Commit returns, and Flush.
//   - journal.go: the worktree journal and the recovery Open runs;
//     reset.go: bringing the worktree back to a commit.
//   - stat_linux.go, stat_other.go: stat data for index entries.
//
// The remote:
//   - remote.go: Remote and SetRemote; ssh.go: ssh keys and known hosts;
//     redact.go: credentials blotted out of text.
//   - remote_errors.go: errors from talking to the remote, and which are
//     worth retrying; retry.go: the transport retry and the lost-race
//     backoff.
//   - pull.go: Pull; push.go: Push; push_tags.go: PushTags, DeleteTags.
//   - push_objects.go: the objects a push sends.
//   - send.go: one receive-pack exchange; remote_words.go: the remote's
//     own messages, quoted safely.
//   - fetch.go: fetching the branch and the commits offered as common
//     ground.
//
// Rebase and branch moves:
//   - rebase.go: integrate and rebase, the orchestration (the algorithm
//     is written out there).
//   - rebase_walk.go: the history walk (paint) and the chain of our
//     commits.
//   - rebase_replay.go: replaying the chain, and the files both sides
//     changed.
//   - move.go: moving the branch with its worktree and index.
//   - checkout_check.go: refusing a move over local edits or links;
//     checkout.go: writing the changed files and their index entries.
package gitstore
