/* SPDX-License-Identifier: MIT */
/*
 * hak_list.h - the one intrusive doubly linked list of every box: a list is
 * a head pointer (and, for a FIFO, a tail pointer) to structs with `next`
 * and `prev` members; NULL ends it both ways.  Depends on nothing.
 *
 * Used for superslab's chunk lists, tiny's slab lists and the mailbox.  The
 * lock (or the owner) that guards a list guards its nodes' links.  The head
 * is stored with a relaxed atomic store, so that a box may peek at a head
 * without its lock (the mailbox does, to skip the lock when empty); on
 * every target that is a plain store.
 */
#ifndef HAK_LIST_H
#define HAK_LIST_H

#define hak_list_set_head_(headp, v) __atomic_store_n((headp), (v), __ATOMIC_RELAXED)

/* hak_list_push - put @n at the head of *@headp */
#define hak_list_push(headp, n)						\
	do {								\
		__typeof__(n) n_ = (n);					\
		n_->prev = NULL;					\
		n_->next = *(headp);					\
		if (n_->next)						\
			n_->next->prev = n_;				\
		hak_list_set_head_(headp, n_);				\
	} while (0)

/* hak_list_del - take @n off the list at *@headp; its links go NULL */
#define hak_list_del(headp, n)						\
	do {								\
		__typeof__(n) d_ = (n);					\
		if (d_->prev)						\
			d_->prev->next = d_->next;			\
		else							\
			hak_list_set_head_(headp, d_->next);		\
		if (d_->next)						\
			d_->next->prev = d_->prev;			\
		d_->next = d_->prev = NULL;				\
	} while (0)

/* hak_list_append - put @n at the tail of the FIFO *@headp .. *@tailp */
#define hak_list_append(headp, tailp, n)				\
	do {								\
		__typeof__(n) a_ = (n);					\
		a_->next = NULL;					\
		a_->prev = *(tailp);					\
		if (a_->prev)						\
			a_->prev->next = a_;				\
		else							\
			hak_list_set_head_(headp, a_);			\
		*(tailp) = a_;						\
	} while (0)

/* hak_list_del_fifo - take @n off the FIFO *@headp .. *@tailp */
#define hak_list_del_fifo(headp, tailp, n)				\
	do {								\
		__typeof__(n) f_ = (n);					\
		if (*(tailp) == f_)					\
			*(tailp) = f_->prev;				\
		hak_list_del(headp, f_);				\
	} while (0)

#endif /* HAK_LIST_H */
