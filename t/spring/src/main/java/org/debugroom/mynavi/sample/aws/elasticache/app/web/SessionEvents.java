package org.debugroom.mynavi.sample.aws.elasticache.app.web;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.springframework.context.event.EventListener;
import org.springframework.session.events.AbstractSessionEvent;
import org.springframework.session.events.SessionCreatedEvent;
import org.springframework.session.events.SessionDeletedEvent;
import org.springframework.session.events.SessionExpiredEvent;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/*
 * GET /events: the session events this instance received, oldest first, as
 * [{"type":"created|deleted|expired","sessionId":"...","time":ms}, ...].
 * It does not touch the session, so it also serves as the readiness probe.
 */
@RestController
public class SessionEvents {

    private final List<Map<String, Object>> events = new ArrayList<>();

    @EventListener
    public void created(SessionCreatedEvent e) {
        add("created", e);
    }

    @EventListener
    public void deleted(SessionDeletedEvent e) {
        add("deleted", e);
    }

    @EventListener
    public void expired(SessionExpiredEvent e) {
        add("expired", e);
    }

    @GetMapping("/events")
    public synchronized List<Map<String, Object>> events() {
        return new ArrayList<>(events);
    }

    private synchronized void add(String type, AbstractSessionEvent e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", type);
        m.put("sessionId", e.getSessionId());
        m.put("time", System.currentTimeMillis());
        events.add(m);
    }
}
