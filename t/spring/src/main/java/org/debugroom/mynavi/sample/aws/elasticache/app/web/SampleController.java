package org.debugroom.mynavi.sample.aws.elasticache.app.web;

import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.CacheControl;
import org.springframework.http.ResponseEntity;
import org.springframework.stereotype.Controller;
import org.springframework.session.FindByIndexNameSessionRepository;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.ResponseBody;
import org.springframework.web.context.request.RequestContextHolder;
import org.springframework.web.context.request.ServletRequestAttributes;

import org.debugroom.mynavi.sample.aws.elasticache.app.web.model.SampleSession;

/*
 * The seed's controller, answering the module's JSON instead of the seed's
 * template.  The session is reached through RequestContextHolder and "var"
 * so that this file compiles against javax.servlet (Boot 2) and
 * jakarta.servlet (Boot 3) alike.
 */
@Controller
public class SampleController {

    @Value("${app.host}")
    private String host;

    @Autowired
    private SampleSession sampleSession;

    @GetMapping("/{containerGroup:[0-9]+}")
    public ResponseEntity<Map<String, Object>> sharedSession() {
        var session = request().getRequest().getSession();
        String previousHost = sampleSession.getHost();
        Date now = new Date();

        sampleSession.setHost(host);
        sampleSession.setLastUpdatedAt(now);

        // the module's keys, in the module's order
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("sessionId", session.getId());
        body.put("host", host);
        body.put("lastUpdatedAt", now.getTime());
        body.put("previousHost", previousHost);
        body.put("creationTime", session.getCreationTime());
        body.put("new", session.isNew());
        return ResponseEntity.ok().cacheControl(CacheControl.noStore())
                .body(body);
    }

    // As the seed: its HttpSession argument creates a session if there was
    // none, which is then invalidated.
    @GetMapping("/invalidateSession")
    public String invalidateSession() {
        request().getRequest().getSession().invalidate();
        return "redirect:/index.html";
    }

    // Not the seed's: names the session's principal, as a login would, so
    // that the indexed repositories keep their principal index for it.
    @GetMapping("/principal/{name}")
    @ResponseBody
    public Map<String, Object> principal(@PathVariable("name") String name) {
        var session = request().getRequest().getSession();
        session.setAttribute(
                FindByIndexNameSessionRepository.PRINCIPAL_NAME_INDEX_NAME, name);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("sessionId", session.getId());
        body.put("principal", name);
        return body;
    }

    private static ServletRequestAttributes request() {
        return (ServletRequestAttributes)
                RequestContextHolder.currentRequestAttributes();
    }
}
