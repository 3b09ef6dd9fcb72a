package sim

import (
	"sync"
	"time"
)

// queue runs work for keys on a few workers. A key always goes to the same
// worker, so one device's steps stay ordered, and a key already waiting is
// not queued twice: events coalesce, and work re-reads the state anyway.
type queue[K comparable] struct {
	mu      sync.Mutex
	pending map[K]bool
	lanes   []*lane[K]
	hash    func(K) int
	work    func(K)
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

type lane[K comparable] struct {
	items []K
	wake  chan struct{}
}

func newQueue[K comparable](workers int, hash func(K) int, work func(K)) *queue[K] {
	q := &queue[K]{pending: make(map[K]bool), hash: hash, work: work, done: make(chan struct{})}
	for i := 0; i < workers; i++ {
		l := &lane[K]{wake: make(chan struct{}, 1)}
		q.lanes = append(q.lanes, l)
		q.wg.Add(1)
		go q.run(l)
	}
	return q
}

func (q *queue[K]) run(l *lane[K]) {
	defer q.wg.Done()
	for {
		select {
		case <-q.done:
			return
		case <-l.wake:
		}
		for {
			q.mu.Lock()
			if len(l.items) == 0 {
				q.mu.Unlock()
				break
			}
			k := l.items[0]
			l.items = l.items[1:]
			delete(q.pending, k)
			q.mu.Unlock()
			q.work(k)
		}
	}
}

// add queues k unless it is already waiting.
func (q *queue[K]) add(k K) {
	q.mu.Lock()
	if q.pending[k] {
		q.mu.Unlock()
		return
	}
	q.pending[k] = true
	l := q.lanes[q.hash(k)%len(q.lanes)]
	l.items = append(l.items, k)
	q.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// after queues k once d has passed (unless the queue is closed by then).
func (q *queue[K]) after(d time.Duration, k K) {
	time.AfterFunc(d, func() {
		select {
		case <-q.done:
		default:
			q.add(k)
		}
	})
}

// close stops the workers after the item each is running.
func (q *queue[K]) close() {
	q.once.Do(func() { close(q.done) })
	q.wg.Wait()
}
